#include "supervisor/core/restart_policy.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);

TEST_CASE(
    "restart policy restarts a first crash at once, then backs off "
    "exponentially up to its cap",
    "[core]") {
  RestartPolicyOptions o;
  o.initial_backoff = absl::Milliseconds(100);
  o.max_backoff = absl::Milliseconds(500);
  o.max_restarts = 100;
  RestartPolicy p(o);
  std::vector<absl::Duration> delays;
  for (int i = 0; i < 6; ++i) {
    delays.push_back(p.OnExit(t0 + absl::Seconds(i)).delay);
  }
  REQUIRE(delays == std::vector<absl::Duration>{
                        absl::ZeroDuration(), absl::Milliseconds(100),
                        absl::Milliseconds(200), absl::Milliseconds(400),
                        absl::Milliseconds(500), absl::Milliseconds(500)});
}

TEST_CASE("restart policy gives up past its intensity within the window",
          "[core]") {
  RestartPolicyOptions o;
  o.max_restarts = 3;
  o.window = absl::Seconds(10);
  RestartPolicy p(o);
  REQUIRE(!p.OnExit(t0).give_up);
  REQUIRE(!p.OnExit(t0 + absl::Seconds(1)).give_up);
  REQUIRE(!p.OnExit(t0 + absl::Seconds(2)).give_up);
  REQUIRE(p.OnExit(t0 + absl::Seconds(3)).give_up);
  // Old restarts leave the window.
  RestartPolicy q(o);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(!q.OnExit(t0 + absl::Seconds(6 * i)).give_up);
  }
}

TEST_CASE("staying ready long enough resets the backoff", "[core]") {
  RestartPolicyOptions o;
  o.reset_after = absl::Seconds(60);
  RestartPolicy p(o);
  p.OnExit(t0);
  p.OnExit(t0 + absl::Seconds(1));
  REQUIRE(p.OnExit(t0 + absl::Seconds(2)).delay == absl::Milliseconds(200));
  p.OnReady(t0 + absl::Seconds(3));
  REQUIRE(p.OnExit(t0 + absl::Seconds(100)).delay == absl::ZeroDuration());
  // Ready only briefly: no reset.
  p.OnReady(t0 + absl::Seconds(101));
  REQUIRE(p.OnExit(t0 + absl::Seconds(102)).delay == absl::Milliseconds(100));
}

}  // namespace
}  // namespace pitstop
