#include "supervisor/common/clock.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("a fake clock moves only when advanced", "[common]") {
  FakeClock clock;
  absl::Time start = clock.Now();
  REQUIRE(clock.Now() == start);
  clock.Advance(absl::Seconds(3));
  REQUIRE(clock.Now() - start == absl::Seconds(3));
}

}  // namespace
}  // namespace pitstop
