#include "supervisor/config/daemon_flags.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

namespace pitstop {
namespace {

TEST_CASE(
    "flags override the configuration file, relative directories "
    "taken from the working directory",
    "[config]") {
  DaemonConfig config;
  config.listen = "unix:/run/pitstop/pitstopd.sock";
  config.state_dir = "/var/lib/pitstop";
  DaemonFlags flags;
  flags.listen = "127.0.0.1:0";
  flags.state_dir = "state/../state2";
  flags.log_level = "debug";
  flags.sandbox = "best-effort";
  flags.require_signed = true;
  REQUIRE(ApplyDaemonFlags(flags, config).ok());
  REQUIRE(config.listen == "127.0.0.1:0");
  REQUIRE(config.state_dir ==
          (std::filesystem::current_path() / "state2").string());
  REQUIRE(config.log_level == LogLevel::kDebug);
  REQUIRE(config.sandbox == "best-effort");
  REQUIRE(config.require_signed);
}

TEST_CASE("flags not given leave the configuration as it is", "[config]") {
  DaemonConfig config;
  config.drivers_dir = "/srv/cars";
  config.require_signed = true;
  REQUIRE(ApplyDaemonFlags(DaemonFlags{}, config).ok());
  REQUIRE(config.drivers_dir == "/srv/cars");
  REQUIRE(config.require_signed);
}

TEST_CASE("a bad flag is refused naming it, and changes nothing", "[config]") {
  struct Case {
    DaemonFlags flags;
    std::string flag;
  };
  DaemonFlags bad_level;
  bad_level.log_level = "verbose";
  DaemonFlags bad_sandbox;
  bad_sandbox.sandbox = "off";
  DaemonFlags bad_listen;
  bad_listen.listen = "unix:relative.sock";
  for (const Case& c :
       {Case{bad_level, "--log-level: "}, Case{bad_sandbox, "--sandbox: "},
        Case{bad_listen, "--listen: "}}) {
    DaemonConfig config;
    config.state_dir = "/var/lib/pitstop";
    DaemonFlags flags = c.flags;
    flags.state_dir = "/elsewhere";
    absl::Status s = ApplyDaemonFlags(flags, config);
    INFO(s.message());
    REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(s.message().rfind(c.flag, 0) == 0);
    REQUIRE(config.state_dir == "/var/lib/pitstop");
  }
}

}  // namespace
}  // namespace pitstop
