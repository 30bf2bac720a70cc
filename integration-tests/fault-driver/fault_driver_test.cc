#include <catch2/catch.hpp>
#include <string>

#include "fault_config.h"
#include "fault_service.h"

namespace pitstop::fault {
namespace {

namespace v1 = ::pitstop::driver::v1;

TEST_CASE("fault.conf modes parse with their numbers", "[fault-driver]") {
  struct Case {
    const char* text;
    FaultMode mode;
    int64_t ms;
    int exit_code;
  };
  const Case cases[] = {
      {"mode=normal\n", FaultMode::kNormal, 0, 0},
      {"# comment\n\nmode=crash_after_ms=500\n", FaultMode::kCrashAfter, 500,
       0},
      {"mode=crash_on_start", FaultMode::kCrashOnStart, 0, 0},
      {"mode=never_ready\n", FaultMode::kNeverReady, 0, 0},
      {"mode=slow_start_ms=1500\n", FaultMode::kSlowStart, 1500, 0},
      {"mode=hang\n", FaultMode::kHang, 0, 0},
      {"mode=bad_exit\n", FaultMode::kBadExit, 0, 0},
      {"mode=sloppy\n", FaultMode::kSloppy, 0, 0},
      {"mode=exit_code=7\n", FaultMode::kExitCode, 0, 7},
      {"mode=exit_code=0\nafter_ms=300\n", FaultMode::kExitCode, 300, 0},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    absl::StatusOr<FaultConfig> config = ParseFaultConfig(c.text, "fault.conf");
    REQUIRE(config.ok());
    CHECK(config->mode == c.mode);
    CHECK(config->ms == c.ms);
    CHECK(config->exit_code == c.exit_code);
  }
}

TEST_CASE("fault.conf errors name the file and line", "[fault-driver]") {
  const char* bad[] = {"mode=explode\n",       "mode=crash_after_ms=soon\n",
                       "mode=exit_code=300\n", "color=red\nmode=normal\n",
                       "# nothing\n",          "mode=hang\nafter_ms=5\n"};
  for (const char* text : bad) {
    INFO(text);
    absl::StatusOr<FaultConfig> config = ParseFaultConfig(text, "fault.conf");
    REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(config.status().message().find("fault.conf") != std::string::npos);
  }
}

TEST_CASE("the fault driver reports its mode and pid and serves stats",
          "[fault-driver]") {
  FaultStorageService service("normal", /*hang=*/false);
  grpc::ServerContext server_context;
  v1::GetStorageCapabilitiesRequest request;
  v1::GetStorageCapabilitiesResponse caps;
  REQUIRE(service.GetCapabilities(&server_context, &request, &caps).ok());
  CHECK(caps.capabilities().at("FAULT_MODE") == "normal");
  CHECK(!caps.capabilities().at("PID").empty());

  v1::GetStatsRequest stats_request;
  (*stats_request.mutable_context()->mutable_properties())["delay_ms"]
      .set_number_value("1");
  v1::GetStatsResponse stats;
  REQUIRE(service.GetStats(&server_context, &stats_request, &stats).ok());
  CHECK(stats.capacity_bytes() > 0);
}

}  // namespace
}  // namespace pitstop::fault
