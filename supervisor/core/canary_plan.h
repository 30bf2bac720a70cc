#ifndef PITSTOP_SUPERVISOR_CORE_CANARY_PLAN_H_
#define PITSTOP_SUPERVISOR_CORE_CANARY_PLAN_H_

// What a canary upgrade is asked to do (docs/lifecycle.md, "Canary
// upgrades"): the shares of the resources the new version serves, step by
// step; the resources named to it from the first step; how long each step
// lasts; and the gate that must hold for the next step to come. With the
// pure parts that decide: which resources a share holds, and whether the
// gate holds on two versions' figures.
//
// Pure; no I/O.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/core/call_history.h"

namespace pitstop {

// The thresholds of a canary's gate, over one step's interval.
struct CanaryGate {
  // How far the new version's driver-error rate (calls ending INTERNAL,
  // UNKNOWN, UNAVAILABLE, DEADLINE_EXCEEDED or DATA_LOSS) may exceed the
  // old version's, as a fraction: 0.01 is one percentage point.
  double max_error_rate_increase = 0.01;
  // How many times the old version's p99 latency the new one's may be.
  // Latencies both under p99_floor always pass (a histogram cannot tell
  // 0.2 ms from 0.4 ms apart well enough to judge).
  double max_p99_ratio = 2.0;
  absl::Duration p99_floor = absl::Milliseconds(5);
  // Fewer calls than this on the new version in the interval: no verdict,
  // the step waits another interval.
  uint64_t min_calls = 20;
};

struct CanaryPlan {
  // Percent of the resources on the new version at each step, ascending,
  // the last 100 (which is the cut-over: every resource moves, and the
  // upgrade's probation follows).
  std::vector<double> steps;
  // "type/id"s on the new version from the first step, whatever their hash.
  std::set<std::string> named;
  // How long each step lasts before the gate is judged.
  absl::Duration interval = absl::Minutes(2);
  CanaryGate gate;
};

// Bounds on what a client may ask.
inline constexpr size_t kMaxCanarySteps = 20;
inline constexpr size_t kMaxCanaryNamed = 10000;
inline constexpr absl::Duration kMinCanaryInterval = absl::Seconds(1);
inline constexpr absl::Duration kMaxCanaryInterval = absl::Hours(24);

// INVALID_ARGUMENT naming the step, resource or figure that is wrong and
// what is allowed.
absl::Status CheckCanaryPlan(const CanaryPlan& plan);

// Where `resource` ("type/id") of `driver` falls in [0, 10000): stable
// across steps, restarts and hosts (FNV-1a of the driver's name and the
// resource), so a share of p percent holds the resources below p * 100.
uint32_t CohortPoint(absl::string_view driver, absl::string_view resource);

// Whether `resource` is on the new version at `percent`: named, or in the
// share. A call that names no resource stays on the old version until the
// cut-over.
bool InCanary(const CanaryPlan& plan, double percent, absl::string_view driver,
              absl::string_view resource);

// The gate's verdict on one interval's figures of the old and new version.
struct GateVerdict {
  enum class Outcome { kPass, kFail, kTooFewCalls };
  Outcome outcome = Outcome::kTooFewCalls;
  // "error rate" or "p99 latency" when it failed; "" otherwise.
  std::string figure;
  // "error rate 2.0.0 12.50% (5 of 40 calls) against 1.0.0 0.00%: more
  // than 1 point above", or why it passed or waits.
  std::string text;
};
GateVerdict JudgeGate(const CanaryGate& gate, const CallFigures& old_version,
                      const CallFigures& new_version);

// "10%,50%,100%".
std::string DescribeSteps(const std::vector<double>& steps);
// "10%", "0.5%".
std::string Percent(double percent);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_CANARY_PLAN_H_
