#ifndef PITSTOP_SUPERVISOR_CORE_EVENT_LOG_H_
#define PITSTOP_SUPERVISOR_CORE_EVENT_LOG_H_

// The daemon's recent history: every state transition, installation,
// process start and end, and operator action, numbered in order. Keeps the
// last `capacity` events, and with a store (SetStore) saves each one and
// starts from the saved ones after a restart, numbering on; watchers read
// what they missed by sequence number and wait for new ones. Thread-safe;
// never calls out while locked.

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/clock.h"
#include "supervisor/core/driver_state.h"

namespace pitstop {

class EventStore;

struct DriverEvent {
  uint64_t sequence = 0;  // assigned by Append, from 1
  absl::Time time;        // assigned by Append
  std::string driver;
  // What happened (docs/operator-guide.md has each kind):
  //   "state"                    a transition, from -> to
  //   "installed"                a version was installed
  //   "operator"                 an operator's action (start, stop, remove...)
  //   "process"                  a process started, ended, or was replaced
  //   "drain-timeout"            a replaced instance's calls were cancelled
  //   "update-available"         a repository offers a newer version
  //   "upgrade"                  the saved active version was not installed
  //   "upgrade-started", "upgrade-ready", "upgrade-cut-over",
  //   "upgrade-resource-drained", "upgrade-drained", "upgrade-committed",
  //   "upgrade-old-stopped", "upgrade-rolled-back", "canary-step",
  //   "canary-gate"
  //                              the steps of an upgrade (upgrade_run.h)
  std::string kind;
  DriverState from = DriverState::kStopped;
  DriverState to = DriverState::kStopped;
  std::string reason;
  pid_t pid = 0;
};

class EventLog {
 public:
  explicit EventLog(Clock& clock, size_t capacity = 1000)
      : clock_(clock), capacity_(capacity) {}

  // Before any Append: takes the store's newest `capacity` events as its
  // own (numbering goes on after them) and saves every event from now on.
  // A store that cannot be read is INTERNAL; the log then starts empty
  // but still saves.
  absl::Status SetStore(EventStore* store) ABSL_LOCKS_EXCLUDED(mu_);

  // Stamps, numbers and keeps `event` (and saves it, outside the lock);
  // returns its sequence number.
  uint64_t Append(DriverEvent event) ABSL_LOCKS_EXCLUDED(mu_);

  // Kept events with a sequence number above `since`, of `driver` only
  // unless it is empty, oldest first. `*seen` (when given) is set to the
  // newest sequence number looked at, matching or not: the `since` of the
  // next call, so that a watcher of one driver waits for events it has not
  // looked at instead of finding the same other driver's events again.
  // Costs the number of newer events, not the number kept.
  std::vector<DriverEvent> Since(uint64_t since, const std::string& driver = "",
                                 uint64_t* seen = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The sequence number of the newest event (0: none yet).
  uint64_t Last() const ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until an event above `since` exists or `deadline` (real time)
  // passes; true if one exists.
  bool AwaitAfter(uint64_t since, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Clock& clock_;
  const size_t capacity_;

  // Set once, before the first Append.
  EventStore* store_ = nullptr;

  mutable absl::Mutex mu_;
  std::deque<DriverEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_EVENT_LOG_H_
