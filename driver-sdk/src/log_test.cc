#include "pitstop/sdk/log.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace pitstop::sdk {
namespace {

TEST_CASE("a log line carries the level and the quoted message", "[sdk]") {
  const std::string line = FormatLogLineForTest("warning", "pool p1 is full");
  CHECK(absl::StrContains(line, " level=warning msg=\"pool p1 is full\""));
  CHECK(absl::EndsWith(line, "\""));
}

TEST_CASE("a log message with newlines and quotes stays on one line", "[sdk]") {
  const std::string line = FormatLogLineForTest("info", "a \"b\"\nc\\d\x01");
  CHECK(line.find('\n') == std::string::npos);
  CHECK(absl::StrContains(line, R"(msg="a \"b\"\nc\\d\x01")"));
}

}  // namespace
}  // namespace pitstop::sdk
