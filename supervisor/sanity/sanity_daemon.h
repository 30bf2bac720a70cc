#ifndef PITSTOP_SUPERVISOR_SANITY_SANITY_DAEMON_H_
#define PITSTOP_SUPERVISOR_SANITY_SANITY_DAEMON_H_

// The private pitstopd pitstop-sanity runs a driver under: a state
// directory of its own (removed afterwards), a drivers directory holding
// copies of the CARs, a Unix socket; its log kept for the checks.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/sandbox/child_process_manager.h"

namespace pitstop {

class SanityDaemon {
 public:
  // Starts `pitstopd` on copies of `cars` in a new directory under the
  // temporary directory. UNAVAILABLE naming what failed.
  static absl::StatusOr<std::unique_ptr<SanityDaemon>> Start(
      const std::string& pitstopd, const std::vector<std::string>& cars,
      const std::string& sandbox);
  // Stops the daemon (and so its drivers) and removes what it made.
  ~SanityDaemon() { Stop(); }
  // The same, at once; idempotent. SIGTERM, then after 60 s SIGKILL and the
  // keepers of its drivers (they outlive a killed daemon by design), then
  // the directory. For an interrupted run too (any thread).
  void Stop() ABSL_LOCKS_EXCLUDED(mu_, stop_mu_);
  SanityDaemon(const SanityDaemon&) = delete;
  SanityDaemon& operator=(const SanityDaemon&) = delete;

  pitstop::supervisor::v1::AdminService::Stub& admin() { return *admin_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // Its directory, removed with it: for files a check makes.
  const std::string& dir() const { return dir_; }
  // Polls GetDriver until `done` holds; the last answer (or why there is
  // none) when `timeout` passes first.
  absl::StatusOr<pitstop::supervisor::v1::Driver> AwaitDriver(
      const std::string& name,
      const std::function<bool(const pitstop::supervisor::v1::Driver&)>& done,
      absl::Duration timeout);
  std::string Log() ABSL_LOCKS_EXCLUDED(mu_);
  bool exited() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SanityDaemon() = default;

  std::string dir_;
  ChildProcessManager launcher_;
  pid_t pid_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pitstop::supervisor::v1::AdminService::Stub> admin_;
  absl::Mutex stop_mu_;  // one Stop at a time
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  absl::Mutex mu_;
  std::string log_ ABSL_GUARDED_BY(mu_);
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_SANITY_DAEMON_H_
