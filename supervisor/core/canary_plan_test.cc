#include "supervisor/core/canary_plan.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

CanaryPlan Plan(std::vector<double> steps) {
  CanaryPlan p;
  p.steps = std::move(steps);
  return p;
}

CallFigures Figures(const std::string& version, uint64_t calls, uint64_t errors,
                    double p99) {
  CallFigures f;
  f.version = version;
  f.calls = calls;
  f.driver_errors = errors;
  f.error_rate = calls == 0 ? 0 : static_cast<double>(errors) / calls;
  f.p99_seconds = p99;
  return f;
}

TEST_CASE(
    "a share holds about that share of the resources, the same ones "
    "at every step and a larger share holds the smaller one's",
    "[canary]") {
  const CanaryPlan plan = Plan({10, 50, 100});
  int at10 = 0;
  int at50 = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string r = absl::StrCat("volume/vol-", i);
    const bool in10 = InCanary(plan, 10, "recorder", r);
    const bool in50 = InCanary(plan, 50, "recorder", r);
    REQUIRE(in10 == InCanary(plan, 10, "recorder", r));  // stable
    if (in10) REQUIRE(in50);
    at10 += in10 ? 1 : 0;
    at50 += in50 ? 1 : 0;
    REQUIRE(InCanary(plan, 100, "recorder", r));
    REQUIRE(!InCanary(plan, 0, "recorder", r));
  }
  REQUIRE(at10 > 150);
  REQUIRE(at10 < 250);
  REQUIRE(at50 > 900);
  REQUIRE(at50 < 1100);
  // The point is fixed for ever: daemons of any build agree on a cohort.
  REQUIRE(CohortPoint("recorder", "volume/vol-1") ==
          CohortPoint("recorder", "volume/vol-1"));
  REQUIRE(CohortPoint("recorder", "volume/vol-1") < 10000);
}

TEST_CASE(
    "named resources are in the canary from its first step, and calls "
    "naming none stay on the old version",
    "[canary]") {
  CanaryPlan plan = Plan({0, 100});
  plan.named = {"volume/pinned-here"};
  REQUIRE(InCanary(plan, 0, "recorder", "volume/pinned-here"));
  REQUIRE(!InCanary(plan, 0, "recorder", "volume/other"));
  REQUIRE(!InCanary(plan, 50, "recorder", ""));
  REQUIRE(CheckCanaryPlan(plan).ok());
}

TEST_CASE("a canary plan that cannot work is refused, naming what is wrong",
          "[canary]") {
  auto message = [](const CanaryPlan& p) {
    return std::string(CheckCanaryPlan(p).message());
  };
  REQUIRE(CheckCanaryPlan(Plan({10, 50, 100})).ok());
  REQUIRE(message(Plan({})).find("1 to 20 steps") != std::string::npos);
  REQUIRE(message(Plan({50, 10, 100}))
              .find("step 2 (10%) does not go above "
                    "step 1 (50%)") != std::string::npos);
  REQUIRE(message(Plan({10, 50})).find("must be 100%") != std::string::npos);
  REQUIRE(message(Plan({10, 150})).find("step 2 is 150%") != std::string::npos);
  REQUIRE(message(Plan({100})).find("a plain upgrade") != std::string::npos);
  CanaryPlan named = Plan({10, 100});
  named.named = {"vol-1"};
  REQUIRE(message(named).find("\"vol-1\" is not TYPE/ID") != std::string::npos);
  CanaryPlan fast = Plan({10, 100});
  fast.interval = absl::Milliseconds(10);
  REQUIRE(message(fast).find("between 1s and 24h") != std::string::npos);
  CanaryPlan ratio = Plan({10, 100});
  ratio.gate.max_p99_ratio = 0.5;
  REQUIRE(message(ratio).find("at least 1") != std::string::npos);
  for (const auto& bad : {Plan({}), Plan({10, 50})}) {
    REQUIRE(CheckCanaryPlan(bad).code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE(
    "the gate fails on the new version's errors or slowness against "
    "the old one's, and waits for enough calls",
    "[canary]") {
  const CanaryGate gate;  // errors +1 point, p99 2x, from 20 calls
  SECTION("too few calls: no verdict") {
    const GateVerdict v = JudgeGate(gate, Figures("1.0.0", 500, 0, 0.01),
                                    Figures("2.0.0", 19, 19, 0.01));
    REQUIRE(v.outcome == GateVerdict::Outcome::kTooFewCalls);
    REQUIRE(v.text.find("2.0.0 had 19 calls") != std::string::npos);
  }
  SECTION("errors") {
    const GateVerdict v = JudgeGate(gate, Figures("1.0.0", 400, 4, 0.01),
                                    Figures("2.0.0", 40, 5, 0.01));
    REQUIRE(v.outcome == GateVerdict::Outcome::kFail);
    REQUIRE(v.figure == "error rate");
    REQUIRE(v.text ==
            "error rate 2.0.0 12.50% (5 of 40 calls) against 1.0.0 1.00% "
            "(4 of 400): more than 1% above");
  }
  SECTION("as many errors as the old version passes") {
    REQUIRE(JudgeGate(gate, Figures("1.0.0", 400, 40, 0.01),
                      Figures("2.0.0", 40, 4, 0.01))
                .outcome == GateVerdict::Outcome::kPass);
  }
  SECTION("slowness") {
    const GateVerdict v = JudgeGate(gate, Figures("1.0.0", 400, 0, 0.010),
                                    Figures("2.0.0", 40, 0, 0.025));
    REQUIRE(v.outcome == GateVerdict::Outcome::kFail);
    REQUIRE(v.figure == "p99 latency");
    REQUIRE(v.text.find("p99 latency 2.0.0 25.0ms against 1.0.0 10.0ms") !=
            std::string::npos);
  }
  SECTION("fast enough both, under the floor, passes whatever the ratio") {
    REQUIRE(JudgeGate(gate, Figures("1.0.0", 400, 0, 0.0002),
                      Figures("2.0.0", 40, 0, 0.002))
                .outcome == GateVerdict::Outcome::kPass);
  }
}

}  // namespace
}  // namespace pitstop
