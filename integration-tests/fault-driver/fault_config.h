#ifndef PITSTOP_INTEGRATION_TESTS_FAULT_DRIVER_FAULT_CONFIG_H_
#define PITSTOP_INTEGRATION_TESTS_FAULT_DRIVER_FAULT_CONFIG_H_

// Test-only: how the fault driver misbehaves, read at start from
// resources/fault.conf in its CAR. The file holds `key=value` lines; blank
// lines and lines starting with '#' are ignored:
//
//   mode=normal               serves and is ready, like any driver
//   mode=crash_after_ms=<n>   serves, then exits with status 3 after n ms
//   mode=crash_on_start       exits with status 3 before serving
//   mode=never_ready          serves, but Probe always answers not ready
//   mode=slow_start_ms=<n>    serves, ready only n ms after start
//   mode=hang                 every call (Probe included) blocks forever;
//                             SIGTERM is ignored, only SIGKILL ends it
//   mode=exit_code=<n>        exits with status n (0..255) at start
//   mode=bad_exit             serves and is ready, but exits with status 1
//                             when asked to stop (pitstop-sanity must fail
//                             it: lifecycle.sigterm)
//   mode=sloppy               serves and is ready, but applies every
//                             CreateVolume anew whatever its operation id
//                             (pitstop-sanity must fail it:
//                             calls.operation-id, and calls.every-method for
//                             the capability its driver.yaml declares and it
//                             does not implement)
//   after_ms=<n>              optional, with exit_code only: serve and exit
//                             n ms after start instead of at once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop::fault {

enum class FaultMode {
  kNormal,
  kCrashAfter,
  kCrashOnStart,
  kNeverReady,
  kSlowStart,
  kHang,
  kExitCode,
  kBadExit,
  kSloppy,
};

struct FaultConfig {
  FaultMode mode = FaultMode::kNormal;
  // The mode's value as written, e.g. "crash_after_ms=500" (for reports).
  std::string mode_text = "normal";
  int64_t ms = 0;     // crash_after_ms, slow_start_ms, or after_ms.
  int exit_code = 0;  // For kExitCode (kCrashAfter and kCrashOnStart use 3).
};

// Parses fault.conf text. INVALID_ARGUMENT naming `source` and the line for
// an unknown key or mode, a bad number, or a missing `mode`.
absl::StatusOr<FaultConfig> ParseFaultConfig(absl::string_view text,
                                             absl::string_view source);

}  // namespace pitstop::fault

#endif  // PITSTOP_INTEGRATION_TESTS_FAULT_DRIVER_FAULT_CONFIG_H_
