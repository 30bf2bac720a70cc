#ifndef PITSTOP_SUPERVISOR_INSTALL_UPDATE_ANNOUNCER_H_
#define PITSTOP_SUPERVISOR_INSTALL_UPDATE_ANNOUNCER_H_

// Tells operators about new versions of installed drivers: each version a
// repository offers above the active one becomes one "update-available"
// event, once per daemon run. Refreshes the repositories now and then on a
// thread of its own between Start and Stop.
//
// Thread-safe.

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "supervisor/core/event_log.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/repo/repository_set.h"

namespace pitstop {

class UpdateAnnouncer {
 public:
  UpdateAnnouncer(Supervisor& supervisor, EventLog& events,
                  RepositorySet& repositories)
      : supervisor_(supervisor), events_(events), repositories_(repositories) {}
  ~UpdateAnnouncer() { Stop(); }

  // The updates on offer now (without refreshing), announced.
  std::vector<AvailableUpdate> Updates() ABSL_LOCKS_EXCLUDED(mu_);
  // Refreshes every repository, then announces what is new. Blocks on the
  // network; failures are logged.
  void Check() ABSL_LOCKS_EXCLUDED(mu_);

  // Checks at once, then every `interval`, until Stop.
  void Start(absl::Duration interval);
  // Idempotent; a check under way is finished first (RepositorySet::Cancel
  // cuts a slow download short).
  void Stop();

 private:
  // Installed drivers: name -> active version.
  std::map<std::string, std::string> InstalledVersions();
  void Announce(const std::vector<AvailableUpdate>& updates)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Constant after construction
  Supervisor& supervisor_;
  EventLog& events_;
  RepositorySet& repositories_;

  // Owned by the thread that calls Start and Stop.
  std::thread thread_;
  absl::Notification stop_;

  absl::Mutex mu_;
  std::set<std::string> announced_ ABSL_GUARDED_BY(mu_);  // "name version"
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_INSTALL_UPDATE_ANNOUNCER_H_
