#include "supervisor/core/driver_log_line.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("a driver's logfmt line keeps its level, message and fields",
          "[core]") {
  const DriverLogLine l = ParseDriverLogLine(
      "2026-11-25T08:51:35.904Z level=warning volume=v1 msg=\"slow "
      "\\\"disk\\\"\" "
      "took_ms=1200 source=array");
  CHECK(l.level == LogLevel::kWarning);
  CHECK(l.message == "slow \"disk\"");
  CHECK(l.fields == Fields{{"volume", "v1"},
                           {"took_ms", "1200"},
                           {"driver_source", "array"}});  // not the daemon's
}

TEST_CASE("a bare message is the rest of the line", "[core]") {
  const DriverLogLine l = ParseDriverLogLine("level=error msg=bare words");
  CHECK(l.level == LogLevel::kError);
  CHECK(l.message == "bare words");
  CHECK(l.fields.empty());
}

TEST_CASE("a driver's JSON line is read as hclog and others write it",
          "[core]") {
  const DriverLogLine hclog = ParseDriverLogLine(
      "{\"@level\":\"error\",\"@message\":\"cannot reach array\","
      "\"@timestamp\":\"2026-11-25T08:51:35.904Z\",\"array\":\"10.0.0.5\","
      "\"retries\":3,\"ok\":false,\"detail\":{\"code\":7,\"why\":\"a,b\"}}");
  CHECK(hclog.level == LogLevel::kError);
  CHECK(hclog.message == "cannot reach array");
  CHECK(hclog.fields == Fields{{"array", "10.0.0.5"},
                               {"retries", "3"},
                               {"ok", "false"},
                               {"detail", "{\"code\":7,\"why\":\"a,b\"}"}});
  const DriverLogLine plain = ParseDriverLogLine(
      "{\"level\": \"WARN\", \"msg\": \"x\", \"instance\": \"i-1\"}");
  CHECK(plain.level == LogLevel::kWarning);
  CHECK(plain.fields == Fields{{"driver_instance", "i-1"}});
}

TEST_CASE("other lines are kept whole at info", "[core]") {
  for (const char* line :
       {"plain output", "a b level=info msg=x", "level=loud msg=x",
        "level=info msg", "level=info msg=\"open", "level=info no message",
        "{\"msg\":\"x\"}", "{not json",
        "{\"level\":\"info\",\"msg\":\"unterminated}"}) {
    INFO(line);
    const DriverLogLine l = ParseDriverLogLine(line);
    CHECK(l.level == LogLevel::kInfo);
    CHECK(l.message == line);
    CHECK(l.fields.empty());
  }
}

TEST_CASE("a driver's fields are bounded in number, key and size", "[core]") {
  std::string line = "level=info msg=\"m\"";
  for (int i = 0; i < 40; ++i) line += " k" + std::to_string(i) + "=v";
  line += " bad/key=1 long=" + std::string(5000, 'x');
  const DriverLogLine l = ParseDriverLogLine(line);
  REQUIRE(l.fields.size() == kMaxDriverLogFields + 1);
  CHECK(l.fields.back() ==
        std::make_pair(std::string("dropped_fields"), std::string("26")));
  const DriverLogLine big = ParseDriverLogLine(
      "level=info long=" + std::string(5000, 'x') + " msg=m");
  CHECK(big.fields[0].second.size() == kMaxDriverLogValue);
}

}  // namespace
}  // namespace pitstop
