#include "supervisor/common/status_macros.h"

#include <catch2/catch.hpp>

#include "supervisor/common/logging.h"

namespace pitstop {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST_CASE("ASSIGN_OR_RETURN passes values through and returns the first error",
          "[common]") {
  REQUIRE(Quarter(8).value() == 2);
  REQUIRE(Quarter(6).status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(CheckEven(4).ok());
  REQUIRE(absl::IsInvalidArgument(CheckEven(3)));
}

TEST_CASE("log lines quote values that need it and keep one event a line",
          "[common]") {
  std::string line = FormatLogLine(LogLevel::kWarning, "driver", "two\nlines",
                                   {{"driver", "flashpool"}, {"path", "a b"}});
  REQUIRE(line.find(" level=warning source=driver driver=flashpool "
                    "path=\"a b\" msg=\"two\\nlines\"\n") != std::string::npos);
  REQUIRE(line.find('\n') == line.size() - 1);
}

TEST_CASE("a driver's own log lines are read back with their level",
          "[common]") {
  LogLevel level = LogLevel::kDebug;
  std::string message;
  REQUIRE(ParseLogLine(
      "2026-11-25T08:51:35.904Z level=warning msg=\"DeleteVolume: \\\"x\\\" "
      "NOT_FOUND\"",
      &level, &message));
  REQUIRE(level == LogLevel::kWarning);
  REQUIRE(message == "DeleteVolume: \"x\" NOT_FOUND");
  REQUIRE(ParseLogLine("level=error msg=bare words", &level, &message));
  REQUIRE(level == LogLevel::kError);
  REQUIRE(message == "bare words");
  for (const char* other : {"plain output", "a b level=info msg=x",
                            "level=loud msg=x", "level=info msg=\"open"}) {
    INFO(other);
    REQUIRE(!ParseLogLine(other, &level, &message));
  }
}

}  // namespace
}  // namespace pitstop
