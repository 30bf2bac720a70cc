// Process-level tests of DriverRuntime: flags, environment, signals and exit
// codes, on the real sdk_test_driver executable.

#include "pitstop/sdk/driver.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "grpcpp/client_context.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "sdk_test_util.h"

namespace pitstop::sdk {
namespace {

namespace v1 = ::pitstop::driver::v1;
using testing::ChildProcess;
using testing::TempDir;

constexpr absl::Duration kTimeout = absl::Seconds(10);

constexpr char kManifest[] = R"(name: tiny
version: 0.2.0
category: storage
vendor: Tests
protocol: [v1]
entrypoint: bin/sdk_test_driver
capabilities: [STORAGE_SYSTEM_SNAPSHOT]
timeouts: {start: 10s, drain: 30s, stop: 2s}
)";

// A temp dir holding META-INF/driver.yaml, like an unpacked CAR.
struct DriverRoot {
  DriverRoot() {
    REQUIRE(mkdir(dir.Join("META-INF").c_str(), 0700) == 0);
    testing::WriteFile(manifest(), kManifest);
  }
  std::string manifest() const { return dir.Join("META-INF/driver.yaml"); }
  std::string socket() const { return dir.Join("d.sock"); }
  std::string stderr_path() const { return dir.Join("stderr.log"); }
  TempDir dir;
};

v1::ProbeResponse ProbeUntilAnswered(const std::string& socket) {
  auto stub = v1::IdentityService::NewStub(testing::UnixChannel(socket));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kTimeout));
  context.set_wait_for_ready(true);
  v1::ProbeResponse response;
  grpc::Status status = stub->Probe(&context, {}, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return response;
}

TEST_CASE("a driver serves on $PITSTOP_SOCKET and exits 0 on SIGTERM",
          "[sdk]") {
  DriverRoot root;
  const std::string state = root.dir.Join("state/nested");
  ChildProcess driver(
      {PITSTOP_SDK_TEST_DRIVER},
      {"PITSTOP_SOCKET=" + root.socket(),
       "PITSTOP_DRIVER_ROOT=" + root.dir.path(), "PITSTOP_STATE_DIR=" + state},
      root.stderr_path());
  CHECK(ProbeUntilAnswered(root.socket()).ready());

  auto channel = testing::UnixChannel(root.socket());
  {
    auto identity = v1::IdentityService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kTimeout));
    v1::GetInfoResponse info;
    REQUIRE(identity->GetInfo(&context, {}, &info).ok());
    CHECK(info.name() == "tiny");
    CHECK(info.version() == "0.2.0");
  }
  {
    auto storage = v1::StorageService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kTimeout));
    v1::GetStorageCapabilitiesResponse caps;
    REQUIRE(storage->GetCapabilities(&context, {}, &caps).ok());
    CHECK(caps.capabilities().at("state_dir") == state);  // Created for us.
  }
  CHECK(testing::HealthCheck(*channel, kTimeout) == 1);

  REQUIRE(kill(driver.pid(), SIGTERM) == 0);
  std::optional<int> status = driver.WaitForExit(kTimeout);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  const std::string log = testing::ReadFile(root.stderr_path());
  CHECK(absl::StrContains(log, "serving on unix:" + root.socket()));
  CHECK(absl::StrContains(log, "driver tiny stopped"));
}

TEST_CASE(
    "a driver in standalone mode takes its flags instead of the "
    "environment",
    "[sdk]") {
  DriverRoot root;
  const std::string state = root.dir.Join("flag-state");
  ChildProcess driver(
      {PITSTOP_SDK_TEST_DRIVER, "--listen", "unix:" + root.socket(),
       "--manifest=" + root.manifest(), "--state-dir", state},
      {"SDK_TEST_NOT_READY=1"}, root.stderr_path());
  v1::ProbeResponse probe = ProbeUntilAnswered(root.socket());
  CHECK_FALSE(probe.ready());
  CHECK(probe.message() == "warming up");
  REQUIRE(kill(driver.pid(), SIGINT) == 0);
  std::optional<int> status = driver.WaitForExit(kTimeout);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("a driver that gets SIGTERM before Serve exits cleanly", "[sdk]") {
  DriverRoot root;
  ChildProcess driver({PITSTOP_SDK_TEST_DRIVER},
                      {"PITSTOP_SOCKET=" + root.socket(),
                       "PITSTOP_DRIVER_ROOT=" + root.dir.path(),
                       "PITSTOP_STATE_DIR=" + root.dir.Join("state"),
                       "SDK_TEST_SIGTERM_BEFORE_SERVE=1"},
                      root.stderr_path());
  std::optional<int> status = driver.WaitForExit(kTimeout);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("bad driver usage exits 2 naming the flag or file", "[sdk]") {
  DriverRoot root;
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    const char* expected;
  };
  const std::string manifest_flag = "--manifest=" + root.manifest();
  const std::string state_flag = "--state-dir=" + root.dir.Join("s");
  const Case cases[] = {
      {{manifest_flag, state_flag}, {}, "--listen unix:PATH"},
      {{"--listen", "tcp:1.2.3.4:5", manifest_flag}, {}, "--listen must be"},
      {{"--frobnicate"}, {}, "unknown flag '--frobnicate'"},
      {{"--manifest"}, {}, "flag --manifest needs a value"},
      {{"--manifest", root.dir.Join("missing.yaml")},
       {"PITSTOP_SOCKET=" + root.socket()},
       "--manifest: cannot read driver.yaml"},
      {{manifest_flag, "--state-dir", root.manifest() + "/sub"},
       {"PITSTOP_SOCKET=" + root.socket()},
       "--state-dir: cannot create"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {PITSTOP_SDK_TEST_DRIVER};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    INFO(c.expected);
    ChildProcess driver(argv, c.env, root.stderr_path());
    std::optional<int> status = driver.WaitForExit(kTimeout);
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 2);
    CHECK_THAT(testing::ReadFile(root.stderr_path()),
               Catch::Matchers::Contains(c.expected));
  }
}

TEST_CASE("a driver that cannot listen exits 1 saying why", "[sdk]") {
  DriverRoot root;
  ChildProcess driver(
      {PITSTOP_SDK_TEST_DRIVER, "--listen",
       "unix:" + root.dir.Join("no-such-dir/d.sock"),
       "--manifest=" + root.manifest(), "--state-dir=" + root.dir.Join("s")},
      {}, root.stderr_path());
  std::optional<int> status = driver.WaitForExit(kTimeout);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 1);
  CHECK_THAT(testing::ReadFile(root.stderr_path()),
             Catch::Matchers::Contains("cannot listen on unix:"));
}

TEST_CASE("the grace period leaves a margin before the stop timeout", "[sdk]") {
  CHECK(GracePeriodForStopTimeout(absl::Seconds(5)) ==
        absl::Milliseconds(4500));
  CHECK(GracePeriodForStopTimeout(absl::Seconds(30)) == absl::Seconds(29));
  CHECK(GracePeriodForStopTimeout(absl::Seconds(1)) == absl::Milliseconds(900));
  CHECK(GracePeriodForStopTimeout(absl::Milliseconds(150)) ==
        absl::Milliseconds(75));
}

}  // namespace
}  // namespace pitstop::sdk
