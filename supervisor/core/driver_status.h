#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_STATUS_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_STATUS_H_

// Snapshots of a driver and its processes, for the API.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/core/call_history.h"
#include "supervisor/core/canary_plan.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/driver_state.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

struct DriverRecord;

// One process of a driver. During an upgrade or a graceful restart there are
// two: the serving one and the one starting or draining beside it.
struct InstanceStatus {
  uint64_t id = 0;
  pid_t pid = 0;  // 0 until launched
  std::string version;
  // "serving", "starting" (a successor not yet serving), "draining" (replaced,
  // finishing its calls), "standby" (drained, kept until an upgrade commits),
  // "stopping".
  std::string role;
  int calls_in_flight = 0;
  // The protections in force for this process (mode "off" until launched).
  SandboxReport sandbox;
};

// A canary upgrade before its cut-over.
struct CanaryStatus {
  CanaryPlan plan;
  size_t step = 0;  // index in plan.steps
  double percent = 0;
  // The new version is READY and serves its share.
  bool serving = false;
  bool paused = false;
  // Taken back after a restart of pitstopd, not serving again yet.
  bool resuming = false;
  absl::Time gate_due = absl::InfiniteFuture();
  // Both versions' calls since the step (or the last judgement) began.
  CallFigures old_figures, new_figures;
  std::string verdict;  // the gate's last
  size_t resources_moving = 0;
};

// A snapshot of one driver, for the API.
struct DriverStatus {
  std::shared_ptr<const DriverPackage> package;
  DriverState state = DriverState::kStopped;
  absl::Time state_since;
  pid_t pid = 0;
  uint32_t restarts = 0;
  std::string last_exit;
  std::string message;
  std::string socket_path;
  // The protections in force for the serving instance (mode "off" when no
  // process runs); each instance has its own in `instances`.
  SandboxReport sandbox;
  std::vector<InstanceStatus> instances;
  // Every installed version, oldest first; package->manifest.version is the
  // active one.
  std::vector<std::string> installed_versions;
  // The version active before the last committed upgrade (what `pitstop
  // rollback` returns to); empty if none.
  std::string previous_version;
  // The upgrade in progress, e.g. "1.2.0 -> 2.0.0: probation until ...";
  // empty when none.
  std::string upgrade;
  std::string upgrade_from, upgrade_to;  // of the upgrade in progress
  // Resources the replaced version still has calls on: moved to the new
  // one as each call ends (during an upgrade or a graceful restart).
  size_t resources_pending = 0;
  // Calls parked for a READY instance or a busy resource.
  size_t calls_waiting = 0;
  std::optional<CanaryStatus> canary;
  // `pitstop pin`: "type/id" -> version.
  std::map<std::string, std::string> pins;
};

// `call_totals` (may be empty) gives a canary's live figures at `now`.
using CallTotalsFunction = std::function<CallTotals(absl::string_view driver,
                                                    absl::string_view version)>;
DriverStatus SnapshotOf(const std::string& name, const DriverRecord& r,
                        absl::Time now, const CallTotalsFunction& call_totals);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_STATUS_H_
