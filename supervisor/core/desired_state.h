#ifndef PITSTOP_SUPERVISOR_CORE_DESIRED_STATE_H_
#define PITSTOP_SUPERVISOR_CORE_DESIRED_STATE_H_

// What the operator wants of each driver, kept across restarts of the
// daemon. The supervisor writes it on every operator action and FAILED
// mark; the daemon reads it at start-up. store/ implements it with SQLite.

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/core/canary_plan.h"

namespace pitstop {

// A canary upgrade before its cut-over, as saved: enough to go on from the
// same step after a restart of the daemon (docs/lifecycle.md, "A canary
// across a restart of pitstopd").
struct SavedCanary {
  CanaryPlan plan;
  size_t step = 0;  // index in plan.steps
  bool paused = false;
  // The upgrade's own options, resolved.
  absl::Duration drain_timeout;
  absl::Duration probation;
};

struct DesiredDriverState {
  // False after `pitstop stop`: the driver stays stopped, also after a
  // restart of the daemon, until `pitstop start`.
  bool enabled = true;
  // Gave up restarting; sticky until `pitstop reset` (or restart/start).
  bool failed = false;
  std::string failed_reason;
  // The active version after the last committed upgrade ("" = never
  // upgraded: the highest installed version is active).
  std::string active_version;
  // The version before it, for `pitstop rollback`.
  std::string previous_version;
  // An upgrade begun and not yet committed or rolled back: a restart of the
  // daemon abandons it (the active version stays) and reports it, unless it
  // is a canary whose processes both survive the restart.
  std::string upgrading_to;
  // Set while that upgrade is a canary before its cut-over.
  std::optional<SavedCanary> canary;
  // Resources kept on a version (`pitstop pin`): "type/id" -> version.
  std::map<std::string, std::string> pins;
};

// Whether a restart of the daemon may go on with the saved canary (it does
// when the processes of both versions survived it).
inline bool MayResumeCanary(const DesiredDriverState& s) {
  return s.canary.has_value() && !s.upgrading_to.empty() && s.enabled &&
         !s.failed;
}

class DesiredStateStore {
 public:
  virtual ~DesiredStateStore() = default;
  // Every driver with a saved state.
  virtual absl::StatusOr<std::map<std::string, DesiredDriverState>> Load() = 0;
  // Replaces one driver's state atomically.
  virtual absl::Status Save(const std::string& driver,
                            const DesiredDriverState& state) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DESIRED_STATE_H_
