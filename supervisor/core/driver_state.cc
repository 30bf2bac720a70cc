#include "supervisor/core/driver_state.h"

namespace pitstop {

absl::string_view DriverStateName(DriverState state) {
  switch (state) {
    case DriverState::kStopped:
      return "STOPPED";
    case DriverState::kStarting:
      return "STARTING";
    case DriverState::kReady:
      return "READY";
    case DriverState::kBackoff:
      return "BACKOFF";
    case DriverState::kStopping:
      return "STOPPING";
    case DriverState::kFailed:
      return "FAILED";
    case DriverState::kDegraded:
      return "DEGRADED";
  }
  return "UNKNOWN";
}

DriverState DriverStateNamed(absl::string_view name) {
  for (DriverState s : kDriverStates) {
    if (DriverStateName(s) == name) return s;
  }
  return DriverState::kStopped;
}

}  // namespace pitstop
