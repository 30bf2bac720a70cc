#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_STATE_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_STATE_H_

#include "absl/strings/string_view.h"

namespace pitstop {

// The state of a driver's instance (docs/architecture.md has the machine).
enum class DriverState {
  kStopped,
  kStarting,
  kReady,
  kBackoff,
  kStopping,
  kFailed,
  // READY, but its probe failed several times in a row: no new calls are
  // routed to it; it is replaced unless it recovers within a grace period.
  kDegraded
};

// Every state, in the enum's order (metrics list them all).
inline constexpr DriverState kDriverStates[] = {
    DriverState::kStopped, DriverState::kStarting, DriverState::kReady,
    DriverState::kBackoff, DriverState::kStopping, DriverState::kFailed,
    DriverState::kDegraded};

// "STOPPED", "STARTING", "READY", "BACKOFF", "STOPPING", "FAILED",
// "DEGRADED".
absl::string_view DriverStateName(DriverState state);
// The state DriverStateName calls `name`; kStopped for a name it does not
// give (a record written by another version, say).
DriverState DriverStateNamed(absl::string_view name);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_STATE_H_
