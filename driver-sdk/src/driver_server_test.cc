#include "pitstop/sdk/driver_server.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <thread>

#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "sdk_test_util.h"

namespace pitstop::sdk {
namespace {

namespace v1 = ::pitstop::driver::v1;
using testing::HealthCheck;
using testing::TempDir;
using testing::UnixChannel;

constexpr absl::Duration kTimeout = absl::Seconds(10);
constexpr int kServing = 1;
constexpr int kNotServing = 2;

DriverInfo TestInfo() {
  DriverInfo info;
  info.name = "tiny";
  info.version = "0.1.0";
  info.category = v1::CATEGORY_STORAGE;
  info.vendor = "Tests";
  info.protocol_versions = {"v1"};
  info.capabilities = {"STORAGE_SYSTEM_SNAPSHOT"};
  return info;
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + kTimeout));
  context.set_wait_for_ready(true);
}

// A storage service whose GetStats blocks until released (or cancelled), to
// observe in-flight calls during shutdown.
class TinyStorage final : public v1::StorageService::Service {
 public:
  grpc::Status GetCapabilities(
      grpc::ServerContext*, const v1::GetStorageCapabilitiesRequest*,
      v1::GetStorageCapabilitiesResponse* response) override {
    (*response->mutable_capabilities())["TINY"] = "true";
    return grpc::Status::OK;
  }

  grpc::Status GetStats(grpc::ServerContext* context,
                        const v1::GetStatsRequest*,
                        v1::GetStatsResponse* response) override {
    started_.Notify();
    while (!release_.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
      if (context->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
    }
    response->set_capacity_bytes(42);
    return grpc::Status::OK;
  }

  absl::Notification started_;
  absl::Notification release_;
};

TEST_CASE(
    "a driver server answers identity, health and its category service "
    "on a Unix socket",
    "[sdk]") {
  TempDir dir;
  const std::string socket = dir.Join("d.sock");
  TinyStorage storage;
  DriverServer server(TestInfo());
  REQUIRE(server.Start(socket, {&storage}).ok());

  struct stat st;
  REQUIRE(stat(socket.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);

  auto channel = UnixChannel(socket);
  auto identity = v1::IdentityService::NewStub(channel);
  {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::GetInfoResponse info;
    REQUIRE(identity->GetInfo(&context, {}, &info).ok());
    CHECK(info.name() == "tiny");
    CHECK(info.version() == "0.1.0");
    CHECK(info.category() == v1::CATEGORY_STORAGE);
    CHECK(info.vendor() == "Tests");
    CHECK(info.protocol_versions(0) == "v1");
    CHECK(info.capabilities(0) == "STORAGE_SYSTEM_SNAPSHOT");
  }
  {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ProbeResponse probe;
    REQUIRE(identity->Probe(&context, {}, &probe).ok());
    CHECK(probe.ready());
  }
  CHECK(HealthCheck(*channel, kTimeout) == kServing);
  {
    auto stub = v1::StorageService::NewStub(channel);
    grpc::ClientContext context;
    SetDeadline(context);
    v1::GetStorageCapabilitiesResponse caps;
    REQUIRE(stub->GetCapabilities(&context, {}, &caps).ok());
    CHECK(caps.capabilities().at("TINY") == "true");
  }

  server.Shutdown(absl::Seconds(1));
  CHECK(stat(socket.c_str(), &st) != 0);  // Socket file removed.
}

TEST_CASE("readiness set by the driver shows in Probe and health", "[sdk]") {
  TempDir dir;
  const std::string socket = dir.Join("d.sock");
  DriverServer server(TestInfo());
  server.SetReady(false, "connecting to the array");
  REQUIRE(server.Start(socket, {}).ok());
  auto channel = UnixChannel(socket);
  auto identity = v1::IdentityService::NewStub(channel);

  auto probe = [&] {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ProbeResponse response;
    REQUIRE(identity->Probe(&context, {}, &response).ok());
    return response;
  };
  v1::ProbeResponse not_ready = probe();
  CHECK_FALSE(not_ready.ready());
  CHECK(not_ready.message() == "connecting to the array");
  CHECK(HealthCheck(*channel, kTimeout) == kNotServing);

  server.SetReady(true);
  CHECK(probe().ready());
  CHECK(HealthCheck(*channel, kTimeout) == kServing);
  server.Shutdown(absl::Seconds(1));
}

TEST_CASE("a stale socket file is replaced but any other file is kept",
          "[sdk]") {
  TempDir dir;
  const std::string socket = dir.Join("d.sock");
  {
    DriverServer crashed(TestInfo());
    REQUIRE(crashed.Start(socket, {}).ok());
    struct stat st;
    REQUIRE(stat(socket.c_str(), &st) == 0);
    // Hard-link the live socket elsewhere, then move it back after shutdown
    // to leave a socket file nobody listens on.
    REQUIRE(link(socket.c_str(), dir.Join("stale.sock").c_str()) == 0);
  }
  REQUIRE(rename(dir.Join("stale.sock").c_str(), socket.c_str()) == 0);
  DriverServer server(TestInfo());
  REQUIRE(server.Start(socket, {}).ok());
  auto channel = UnixChannel(socket);
  CHECK(HealthCheck(*channel, kTimeout) == kServing);
  server.Shutdown(absl::Seconds(1));

  const std::string regular = dir.Join("notes.txt");
  testing::WriteFile(regular, "keep me");
  DriverServer refused(TestInfo());
  absl::Status status = refused.Start(regular, {});
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(testing::ReadFile(regular) == "keep me");
}

TEST_CASE("a socket path too long for a Unix socket is refused clearly",
          "[sdk]") {
  DriverServer server(TestInfo());
  absl::Status status = server.Start("/tmp/" + std::string(200, 'x'), {});
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()),
             Catch::Matchers::Contains("use a shorter path"));
}

TEST_CASE("shutdown lets an in-flight call finish and refuses new ones",
          "[sdk]") {
  TempDir dir;
  const std::string socket = dir.Join("d.sock");
  TinyStorage storage;
  DriverServer server(TestInfo());
  REQUIRE(server.Start(socket, {&storage}).ok());
  auto channel = UnixChannel(socket);
  auto stub = v1::StorageService::NewStub(channel);

  grpc::Status slow_status;
  v1::GetStatsResponse slow_response;
  std::thread slow([&] {
    grpc::ClientContext context;
    SetDeadline(context);
    slow_status = stub->GetStats(&context, {}, &slow_response);
  });
  REQUIRE(storage.started_.WaitForNotificationWithTimeout(kTimeout));

  absl::Notification stopped;
  std::thread stopper([&] {
    server.Shutdown(kTimeout);
    stopped.Notify();
  });
  // New calls are refused once shutdown has begun; wait until they are.
  const absl::Time deadline = absl::Now() + kTimeout;
  bool refused = false;
  while (!refused && absl::Now() < deadline) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    v1::GetStorageCapabilitiesResponse caps;
    refused = !stub->GetCapabilities(&context, {}, &caps).ok();
  }
  CHECK(refused);
  CHECK_FALSE(stopped.HasBeenNotified());

  storage.release_.Notify();
  slow.join();
  INFO(slow_status.error_message());
  CHECK(slow_status.ok());
  CHECK(slow_response.capacity_bytes() == 42);
  REQUIRE(stopped.WaitForNotificationWithTimeout(kTimeout));
  stopper.join();
}

TEST_CASE("shutdown cancels calls still running when the grace period ends",
          "[sdk]") {
  TempDir dir;
  const std::string socket = dir.Join("d.sock");
  TinyStorage storage;
  DriverServer server(TestInfo());
  REQUIRE(server.Start(socket, {&storage}).ok());
  auto stub = v1::StorageService::NewStub(UnixChannel(socket));

  grpc::Status slow_status;
  std::thread slow([&] {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::GetStatsResponse response;
    slow_status = stub->GetStats(&context, {}, &response);
  });
  REQUIRE(storage.started_.WaitForNotificationWithTimeout(kTimeout));
  server.Shutdown(absl::Milliseconds(100));  // Returns although never released.
  slow.join();
  CHECK_FALSE(slow_status.ok());
}

TEST_CASE(
    "shutdown returns once calls are done even if a client stays "
    "connected",
    "[sdk]") {
  TempDir dir;
  const std::string socket = dir.Join("d.sock");
  DriverServer server(TestInfo());
  REQUIRE(server.Start(socket, {}).ok());
  auto channel = UnixChannel(socket);  // Kept open throughout, like the daemon.
  REQUIRE(HealthCheck(*channel, kTimeout) == kServing);

  const absl::Duration long_grace = absl::Seconds(60);
  const absl::Time start = absl::Now();
  server.Shutdown(long_grace);
  // Not the whole grace period: nothing was in flight.
  CHECK(absl::Now() - start < long_grace / 4);
  CHECK_FALSE(HealthCheck(*channel, absl::Milliseconds(200)).has_value());
}

}  // namespace
}  // namespace pitstop::sdk
