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

// "STOPPED", "STARTING", "READY", "BACKOFF", "STOPPING", "FAILED",
// "DEGRADED".
absl::string_view DriverStateName(DriverState state);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_STATE_H_
