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

TEST_CASE("a call's log line names the resource, operation and outcome",
          "[sdk]") {
  pitstop::driver::v1::CallContext context;
  CHECK(DescribeCall("GetCapabilities", context, absl::OkStatus(), false) ==
        "GetCapabilities: ok");
  context.mutable_resource()->set_type("volume");
  context.mutable_resource()->set_id("vol-1");
  context.set_operation_id("op-7");
  context.set_caller("mgmt-1");
  (*context.mutable_properties())["password"].set_string_value("s3cret");
  CHECK(DescribeCall("CreateVolume", context, absl::OkStatus(), true) ==
        "CreateVolume volume=vol-1 operation_id=op-7 caller=mgmt-1: ok "
        "(replayed, already done)");
  const std::string failed = DescribeCall(
      "CreateVolume", context, absl::NotFoundError("no pool 'p'"), false);
  CHECK(failed ==
        "CreateVolume volume=vol-1 operation_id=op-7 caller=mgmt-1: "
        "NOT_FOUND: no pool 'p'");
  CHECK_FALSE(absl::StrContains(failed, "s3cret"));
}

}  // namespace
}  // namespace pitstop::sdk
