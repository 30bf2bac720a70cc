#ifndef PITSTOP_SUPERVISOR_CORE_INSTANCE_H_
#define PITSTOP_SUPERVISOR_CORE_INSTANCE_H_

// One process of a driver, as the supervisor sees it. A driver has one
// serving (or starting) instance; during a graceful restart or an upgrade a
// second one starts beside it (the successor), and the one it replaces
// finishes its calls (retiring).
//
// Not thread-safe: instances live in the Supervisor's driver records and are
// touched only under its lock.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/instance_load.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

// Where an instance is in its life. Each phase moves only forward, except
// that a standby instance serves again when an upgrade is rolled back:
//
//   launching -> starting -> ready -> (replaced) draining | standby
//   any -> stopping (SIGTERM sent) -> exited
enum class InstancePhase {
  // Decided, not launched yet: no pid.
  kLaunching,
  // Launched; its probe has not said ready yet.
  kStarting,
  // Its probe said ready: it serves (or, as a successor, is about to).
  kReady,
  // Replaced: it finishes the calls it has, then stops.
  kDraining,
  // Replaced by an upgrade on probation: it finishes its calls and is kept
  // running until the upgrade commits, to take the work back on a rollback.
  kStandby,
  // SIGTERM sent; SIGKILL follows at kill_at.
  kStopping,
  // The process ended, or never started (failure says why).
  kExited,
};

struct Instance {
  bool launched() const { return pid != 0; }
  bool exited() const { return phase == InstancePhase::kExited; }
  // Launched and not exited.
  bool alive() const { return launched() && !exited(); }
  bool replaced() const {
    return phase == InstancePhase::kDraining ||
           phase == InstancePhase::kStandby;
  }
  // How it ended: the failure the supervisor saw, else the exit status.
  std::string ExitText() const {
    return failure.empty() ? exit.Describe() : failure;
  }
  // Ends an instance that could not be launched.
  void FailBeforeLaunch(std::string why) {
    phase = InstancePhase::kExited;
    failure = std::move(why);
  }

  // Constant after creation
  uint64_t id = 0;
  // The version this process runs.
  std::shared_ptr<const DriverPackage> package;
  std::string dir;
  std::string socket_path;
  // Calls routed to this instance and not finished (see Route::lease).
  std::shared_ptr<InstanceLoad> load;

  InstancePhase phase = InstancePhase::kLaunching;
  pid_t pid = 0;  // 0 until launched
  std::shared_ptr<DriverEndpoint> endpoint;
  SandboxReport sandbox;
  ExitInfo exit;
  std::string failure;  // overrides the exit description when set

  // Probing
  bool probe_in_flight = false;
  absl::Time next_probe;
  absl::Time start_deadline;
  std::string probe_message;
  uint32_t health_failures = 0;

  // Stopping: SIGKILL at kill_at unless it has exited; kill_sent once it is
  // on its way (from any phase).
  absl::Time kill_at = absl::InfiniteFuture();
  bool kill_sent = false;

  // Replaced (draining or standby)
  absl::Time drain_deadline = absl::InfiniteFuture();
  // "has no call left" was reported.
  bool drained_noted = false;
  // The drain timeout passed and its calls were cancelled.
  bool cancel_sent = false;
  // Resources whose calls were cancelled at the drain timeout: the process
  // may still work on them, so they wait until it has exited.
  std::set<std::string> held;
  // It is the new version of an upgrade that was rolled back.
  bool rolled_back = false;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_INSTANCE_H_
