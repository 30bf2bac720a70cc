#include "supervisor/cli/canary_flags.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE(
    "a canary share is a first step then 100%, steps are listed, and the "
    "gate and interval are read with their units",
    "[cli][canary]") {
  CanaryFlags f;
  f.canary = "10%";
  f.interval = "90s";
  f.gate = "errors=0.5%,p99=3x,min-calls=50";
  auto plan = CanaryPlanFromFlags(f);
  REQUIRE(plan.ok());
  REQUIRE(plan->steps_percent_size() == 2);
  REQUIRE(plan->steps_percent(0) == 10);
  REQUIRE(plan->steps_percent(1) == 100);
  REQUIRE(plan->interval_ms() == 90000);
  REQUIRE(plan->gate().max_error_rate_increase_percent() == 0.5);
  REQUIRE(plan->gate().max_p99_ratio() == 3);
  REQUIRE(plan->gate().min_calls() == 50);

  CanaryFlags steps;
  steps.steps = "5,25%,100%";
  steps.resources = "volume/a, volume/b";
  plan = CanaryPlanFromFlags(steps);
  REQUIRE(plan.ok());
  REQUIRE(plan->steps_percent_size() == 3);
  REQUIRE(plan->resources_size() == 2);
  REQUIRE(plan->resources(1) == "volume/b");
  REQUIRE(!plan->gate().has_min_calls());  // the daemon's default

  CanaryFlags named;
  named.resources = "volume/a";
  plan = CanaryPlanFromFlags(named);
  REQUIRE(plan.ok());
  REQUIRE(plan->steps_percent(0) == 0);
}

TEST_CASE("canary flags that make no sense name the flag and an example",
          "[cli][canary]") {
  auto message = [](CanaryFlags f) {
    return std::string(CanaryPlanFromFlags(f).status().message());
  };
  CanaryFlags both;
  both.canary = "10%";
  both.steps = "10%,100%";
  REQUIRE(message(both).find("not both") != std::string::npos);
  CanaryFlags share;
  share.canary = "150%";
  REQUIRE(message(share) ==
          "--canary: '150%' is not a share between 0% and 100%, e.g. 10%");
  CanaryFlags gate;
  gate.canary = "10%";
  gate.gate = "latency=2";
  REQUIRE(message(gate).find("--gate: 'latency=2' is not a gate figure") == 0);
  CanaryFlags interval;
  interval.canary = "10%";
  interval.interval = "soon";
  REQUIRE(message(interval).find("--interval: 'soon'") == 0);
  CanaryFlags nothing;
  nothing.interval = "1m";
  REQUIRE(message(nothing).find("a canary needs a share") == 0);
}

}  // namespace
}  // namespace pitstop
