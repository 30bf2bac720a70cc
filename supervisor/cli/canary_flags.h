#ifndef PITSTOP_SUPERVISOR_CLI_CANARY_FLAGS_H_
#define PITSTOP_SUPERVISOR_CLI_CANARY_FLAGS_H_

// `pitstop upgrade`'s canary flags, read into the admin API's CanaryPlan.
// Pure. The daemon checks the plan again (core/canary_plan.h).

#include <string>

#include "absl/status/statusor.h"
#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

struct CanaryFlags {
  std::string canary;     // "10%": the first step, then 100%
  std::string steps;      // "10%,50%,100%"
  std::string resources;  // "volume/a,volume/b"
  std::string interval;   // "2m"
  std::string gate;       // "errors=1%,p99=2,min-calls=20"

  bool any() const {
    return !canary.empty() || !steps.empty() || !resources.empty() ||
           !interval.empty() || !gate.empty();
  }
};

// The gate's flag as --help shows it, with the defaults.
inline constexpr char kCanaryGateHelp[] =
    "the gate each step must pass, judged on the new version's calls against "
    "the old one's over the interval: errors=POINTS% (how far its "
    "driver-error rate, INTERNAL/UNKNOWN/UNAVAILABLE/DEADLINE_EXCEEDED/"
    "DATA_LOSS, may exceed the old one's; default 1%), p99=RATIO (its p99 "
    "latency over the old one's, both under 5ms always pass; default 2), "
    "min-calls=N (fewer: the step waits another interval; default 20). A "
    "crash or failed probes of the new version roll back at once";

// INVALID_ARGUMENT naming the flag and what to write.
absl::StatusOr<pitstop::supervisor::v1::CanaryPlan> CanaryPlanFromFlags(
    const CanaryFlags& flags);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_CANARY_FLAGS_H_
