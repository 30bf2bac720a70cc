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
  kFailed
};

// "STOPPED", "STARTING", "READY", "BACKOFF", "STOPPING", "FAILED".
absl::string_view DriverStateName(DriverState state);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_STATE_H_
