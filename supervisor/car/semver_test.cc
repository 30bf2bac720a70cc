#include "supervisor/car/semver.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("semantic versions parse and order by semver.org precedence",
          "[car]") {
  auto v = [](const char* s) { return SemVer::Parse(s).value(); };
  REQUIRE(v("1.4.2").ToString() == "1.4.2");
  REQUIRE(v("1.4.2") < v("1.10.0"));
  REQUIRE(v("1.0.0-rc.1") < v("1.0.0"));
  REQUIRE(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
  REQUIRE(v("1.0.0-2") < v("1.0.0-10"));
  REQUIRE(v("1.0.0+build.5") == v("1.0.0"));
  for (const char* bad : {"1.4", "01.2.3", "1.2.x", "", "1.2.3-", "v1.2.3"}) {
    INFO(bad);
    REQUIRE(!SemVer::Parse(bad).ok());
  }
}

TEST_CASE("version ranges are conjunctions of comparisons", "[car]") {
  auto range = VersionRange::Parse(">=1.0.0 <2.0.0").value();
  REQUIRE(range.Contains(SemVer::Parse("1.0.0").value()));
  REQUIRE(range.Contains(SemVer::Parse("1.9.9").value()));
  REQUIRE(!range.Contains(SemVer::Parse("2.0.0").value()));
  REQUIRE(!range.Contains(SemVer::Parse("0.9.0").value()));
  REQUIRE(VersionRange::Parse("1.2.3").value().Contains(
      SemVer::Parse("1.2.3").value()));
  REQUIRE(!VersionRange::Parse(">=one").ok());
  REQUIRE(!VersionRange::Parse("  ").ok());
}

}  // namespace
}  // namespace pitstop
