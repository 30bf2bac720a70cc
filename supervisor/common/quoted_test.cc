#include "supervisor/common/quoted.h"

#include <catch2/catch.hpp>
#include <string>

namespace pitstop {
namespace {

TEST_CASE("client text in errors is quoted, escaped and cut", "[common]") {
  REQUIRE(Quoted("vol-1") == "'vol-1'");
  const std::string control = Quoted(std::string("a\nb\0c", 5));
  REQUIRE(control.find('\n') == std::string::npos);
  REQUIRE(control.find('\0') == std::string::npos);
  REQUIRE(control.rfind("'a\\nb\\", 0) == 0);
  const std::string big(1 << 20, 'x');
  const std::string q = Quoted(big);
  REQUIRE(q == "'" + std::string(64, 'x') + "...' (1048576 bytes)");
}

TEST_CASE("an error message is bounded, never cut inside a character",
          "[common]") {
  REQUIRE(Bounded("short") == "short");
  std::string long_text(5000, 'a');
  const std::string b = Bounded(long_text);
  REQUIRE(b.size() <= kMaxErrorBytes);
  REQUIRE(b.substr(b.size() - 17) == "... (message cut)");
  std::string accents;
  for (int i = 0; i < 3000; ++i) accents += "\xc3\xa9";  // é
  const std::string c = Bounded(accents);
  REQUIRE(c.size() <= kMaxErrorBytes);
  const std::string body = c.substr(0, c.size() - 17);
  REQUIRE(body.size() % 2 == 0);  // whole characters only
}

}  // namespace
}  // namespace pitstop
