// The frame router (supervisor/rpc/frame_router.h) against the real daemon
// and drivers: what it must do besides forwarding a small call, which the
// other integration tests exercise everywhere.

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"
#include "pitstop/driver/v1/network.grpc.pb.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

dv1::CreateVolumeRequest FlashpoolVolume(const std::string& id) {
  dv1::CreateVolumeRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id(id);
  req.mutable_context()->set_operation_id("create-" + id);
  AddFlashpoolProperties(req.mutable_context());
  req.set_size_bytes(1 << 20);
  return req;
}

dv1::CreateVolumeRequest RecorderCall(const std::string& id, int work_ms) {
  dv1::CreateVolumeRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id(id);
  req.mutable_context()->set_operation_id("op-" + id);
  (*req.mutable_context()->mutable_properties())["work_ms"].set_number_value(
      std::to_string(work_ms));
  return req;
}

DaemonSpec RecorderOnly(const std::string& config_yaml = "") {
  DaemonSpec spec;
  spec.cars_dir = std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-1";
  spec.await_ready = "recorder";
  spec.config_yaml = config_yaml;
  return spec;
}

TEST_CASE(
    "a routed request larger than every HTTP/2 window reaches the driver "
    "whole, and one over the 64 MiB limit is refused",
    "[integration][router]") {
  Daemon daemon;
  dv1::CreateVolumeRequest big = FlashpoolVolume("big");
  big.set_name(std::string(3 << 20, 'n'));  // 3 MiB: three stream windows
  dv1::CreateVolumeResponse resp;
  {
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().CreateVolume(ctx.get(), big, &resp);
    INFO(s.error_message());
    // A single byte lost or reordered and the driver could not parse it.
    REQUIRE(s.ok());
    REQUIRE(resp.details().at("size_bytes") == "1048576");
  }
  dv1::CreateVolumeRequest huge = FlashpoolVolume("huge");
  huge.set_name(std::string((64 << 20) + 1, 'n'));
  auto ctx = daemon.Routed("flashpool", absl::Seconds(30));
  grpc::Status s = daemon.storage().CreateVolume(ctx.get(), huge, &resp);
  REQUIRE(s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  REQUIRE(s.error_message().find("limit of 67108864 bytes") !=
          std::string::npos);
  // The connection is still good.
  auto again = daemon.Routed("flashpool");
  REQUIRE(daemon.storage()
              .CreateVolume(again.get(), FlashpoolVolume("after"), &resp)
              .ok());
}

TEST_CASE(
    "one client connection carries more than its 16 MiB window both ways, "
    "for routed and passed-through calls",
    "[integration][router]") {
  Daemon daemon;
  // 24 admin calls whose request and answer each hold a 1 MiB key: the
  // bytes of the answers cross the in-process passage, whose windows must
  // open again as they are passed on.
  const std::string key(1 << 20, 'k');
  for (int i = 0; i < 24; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    sv1::ValidatePropertiesRequest req;
    req.set_name("flashpool");
    (*req.mutable_properties())[key].set_string_value("x");
    sv1::ValidatePropertiesResponse resp;
    grpc::Status s = daemon.admin().ValidateProperties(&ctx, req, &resp);
    INFO("call " << i << ": " << s.error_message());
    REQUIRE(s.ok());
    REQUIRE(!resp.valid());
  }
  for (int i = 0; i < 24; ++i) {
    dv1::CreateVolumeRequest big = FlashpoolVolume("big-" + std::to_string(i));
    big.set_name(std::string(1 << 20, 'n'));
    dv1::CreateVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool", absl::Seconds(20));
    grpc::Status s = daemon.storage().CreateVolume(ctx.get(), big, &resp);
    INFO("call " << i << ": " << s.error_message());
    REQUIRE(s.ok());
  }
}

TEST_CASE(
    "an unknown method and a compressed request are refused with the gRPC "
    "status the spec names",
    "[integration][router]") {
  Daemon daemon;
  SECTION("unknown method") {
    grpc::GenericStub stub(daemon.channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), response;
    absl::Mutex mu;
    bool done = false;
    grpc::Status status;
    stub.UnaryCall(&ctx, "/acme.Nothing/Here", grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) {
                     absl::MutexLock lock(&mu);
                     status = s;
                     done = true;
                   });
    absl::MutexLock lock(&mu);
    REQUIRE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(10)));
    REQUIRE(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    REQUIRE(status.error_message().find("/acme.Nothing/Here") !=
            std::string::npos);
  }
  SECTION("compressed request") {
    auto ctx = daemon.Routed("flashpool");
    ctx->set_compression_algorithm(GRPC_COMPRESS_GZIP);
    dv1::CreateVolumeResponse resp;
    grpc::Status s =
        daemon.storage().CreateVolume(ctx.get(), FlashpoolVolume("gz"), &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
    REQUIRE(s.error_message().find("uncompressed") != std::string::npos);
  }
}

TEST_CASE(
    "a call without a deadline to a driver that never answers ends at the "
    "daemon's default call timeout, and frees its resource",
    "[integration][router]") {
  Daemon daemon(RecorderOnly("default_call_timeout: 500ms\n"));
  const int pid = daemon.GetDriver("recorder").pid();
  REQUIRE(StopProcess(pid));
  grpc::ClientContext ctx;  // no deadline
  ctx.AddMetadata("pitstop-driver", "recorder");
  dv1::CreateVolumeResponse resp;
  grpc::Status s =
      daemon.storage().CreateVolume(&ctx, RecorderCall("stuck", 0), &resp);
  REQUIRE(::kill(pid, SIGCONT) == 0);
  INFO(s.error_message());
  REQUIRE(s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  REQUIRE(s.error_message().find("recorder") != std::string::npos);
  AwaitDriver(daemon, "recorder", [](const sv1::Driver& d) {
    return d.instances_size() >= 1 && d.instances(0).calls_in_flight() == 0;
  });
}

TEST_CASE(
    "a caller that gives up on a slow call frees the driver's resource, and "
    "the connection serves the next call",
    "[integration][router]") {
  Daemon daemon(RecorderOnly());
  dv1::CreateVolumeResponse resp;
  auto ctx = daemon.Routed("recorder", absl::Milliseconds(200));
  grpc::Status s = daemon.storage().CreateVolume(
      ctx.get(), RecorderCall("slow", 1000), &resp);
  REQUIRE(s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  AwaitDriver(daemon, "recorder", [](const sv1::Driver& d) {
    return d.instances_size() == 1 && d.instances(0).calls_in_flight() == 0;
  });
  auto next = daemon.Routed("recorder");
  s = daemon.storage().CreateVolume(next.get(), RecorderCall("next", 0), &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
}

TEST_CASE(
    "a stream of events passes through the listener as it happens, beside "
    "routed calls on the same connection",
    "[integration][router]") {
  Daemon daemon(RecorderOnly());
  grpc::ClientContext watch_ctx;
  sv1::WatchEventsRequest req;
  req.set_follow(true);
  req.set_driver("recorder");
  auto reader = daemon.admin().WatchEvents(&watch_ctx, req);
  // A restart makes new events; they arrive while the stream stays open.
  std::thread restart([&] {
    grpc::ClientContext ctx;
    sv1::RestartDriverRequest r;
    r.set_name("recorder");
    sv1::Driver out;
    (void)daemon.admin().RestartDriver(&ctx, r, &out);
  });
  // The backlog first, then the restart live: the operator's action, and
  // the new instance serving after it.
  sv1::Event event;
  bool saw_restart = false;
  bool saw_new_instance = false;
  while (!saw_new_instance && reader->Read(&event)) {
    if (event.kind() == "operator") saw_restart = true;
    saw_new_instance = saw_restart && event.kind() == "process" &&
                       event.reason().find("serves") != std::string::npos;
  }
  restart.join();
  REQUIRE(saw_new_instance);
  dv1::CreateVolumeResponse resp;
  auto ctx = daemon.Routed("recorder");
  REQUIRE(daemon.storage()
              .CreateVolume(ctx.get(), RecorderCall("beside", 0), &resp)
              .ok());
  watch_ctx.TryCancel();
  (void)reader->Finish();
}

TEST_CASE(
    "a client that does not speak HTTP/2, or hangs up mid-request, costs "
    "only its own connection",
    "[integration][router]") {
  Daemon daemon(RecorderOnly());
  const std::string path = daemon.address().substr(5);  // unix:...
  auto connect = [&] {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
            0);
    return fd;
  };
  for (int i = 0; i < 20; ++i) {
    const int fd = connect();
    const std::string junk =
        i % 2 == 0 ? std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                   // The HTTP/2 preface, then a frame cut short.
                   : std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                         std::string("\x00\x40\x00\x00", 4);
    REQUIRE(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(junk.size()));
    if (i % 2 == 0) {
      // The daemon closes a connection that is not HTTP/2.
      char buf[256];
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }
    }
    ::close(fd);
  }
  dv1::CreateVolumeResponse resp;
  auto ctx = daemon.Routed("recorder");
  grpc::Status s =
      daemon.storage().CreateVolume(ctx.get(), RecorderCall("after", 0), &resp);
  INFO(s.error_message() << daemon.Log());
  REQUIRE(s.ok());
  REQUIRE(::kill(daemon.pid(), 0) == 0);
}

TEST_CASE(
    "none of the caller's metadata reaches the driver, which reports what it "
    "receives when called directly",
    "[integration][router]") {
  DaemonSpec spec;
  spec.cars_dir = std::string(PITSTOP_TEST_CARS_DIR) + "/fault-normal";
  spec.await_ready = "fault-normal";
  Daemon daemon(spec);
  auto capabilities = [](const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& driver) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!driver.empty()) ctx.AddMetadata("pitstop-driver", driver);
    ctx.AddMetadata("authorization", "Bearer s3cret");
    ctx.AddMetadata("x-request-id", "r-1");
    dv1::GetStorageCapabilitiesResponse resp;
    grpc::Status s = dv1::StorageService::NewStub(channel)->GetCapabilities(
        &ctx, dv1::GetStorageCapabilitiesRequest(), &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return resp;
  };
  // The driver does report metadata: directly, it sees the caller's.
  const std::string socket = daemon.GetDriver("fault-normal").socket_path();
  const auto direct = capabilities(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()),
      "");
  REQUIRE(direct.capabilities().count("METADATA:authorization") == 1);
  // Through the daemon it sees none of it.
  const auto routed = capabilities(daemon.channel(), "fault-normal");
  for (const auto& [key, value] : routed.capabilities()) {
    INFO(key << " = " << value);
    CHECK(key != "METADATA:authorization");
    CHECK(key != "METADATA:x-request-id");
    CHECK(key != "METADATA:pitstop-driver");
    CHECK(value.find("s3cret") == std::string::npos);
  }
  REQUIRE(routed.capabilities().at("FAULT_MODE") ==
          direct.capabilities().at("FAULT_MODE"));
}

TEST_CASE(
    "a call for another category's service is refused at once while the "
    "driver is still STARTING",
    "[integration][router]") {
  DaemonSpec spec;
  // A storage driver that serves but never becomes ready.
  spec.cars_dir = std::string(PITSTOP_TEST_CARS_DIR) + "/fault-neverready";
  spec.await_ready = "";
  Daemon daemon(spec);
  const sv1::Driver before =
      AwaitDriver(daemon, "fault-neverready", [](const sv1::Driver& d) {
        return d.state() == sv1::DRIVER_STATE_STARTING && d.pid() != 0;
      });
  auto network = dv1::NetworkService::NewStub(daemon.channel());
  dv1::DestroyNetworkRequest req;
  req.mutable_context()->mutable_resource()->set_type("network");
  dv1::DestroyNetworkResponse out;
  // Long enough that a call waiting for READY could not end before the
  // driver's start timeout moves it on.
  auto ctx = daemon.Routed("fault-neverready", absl::Seconds(30));
  grpc::Status s = network->DestroyNetwork(ctx.get(), req, &out);
  const sv1::Driver after = daemon.GetDriver("fault-neverready");
  INFO(s.error_message() << daemon.Log());
  REQUIRE(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(s.error_message().find("fault-neverready") != std::string::npos);
  REQUIRE(s.error_message().find("StorageService") != std::string::npos);
  // The same start attempt is still under way: the call did not wait.
  REQUIRE(after.state() == sv1::DRIVER_STATE_STARTING);
  REQUIRE(after.pid() == before.pid());
}

TEST_CASE(
    "the daemon listens on a TCP port it picks only with insecure_tcp, and "
    "gives TCP peers the roles written for 'tcp'",
    "[integration][router]") {
  DaemonSpec spec = RecorderOnly();
  spec.listen = "127.0.0.1:0";
  spec.config_yaml =
      "insecure_tcp: true\n"
      "roles: {admin: [tcp]}\n"
      "callers: {\"*\": [tcp]}\n";
  Daemon daemon(spec);
  REQUIRE(daemon.address().rfind("127.0.0.1:", 0) == 0);
  REQUIRE(daemon.AwaitLog("insecure_tcp: serving on TCP without TLS",
                          absl::Seconds(5)));
  dv1::CreateVolumeResponse resp;
  auto ctx = daemon.Routed("recorder");
  REQUIRE(daemon.storage()
              .CreateVolume(ctx.get(), RecorderCall("tcp", 0), &resp)
              .ok());
}

TEST_CASE(
    "a socket another daemon serves is refused, and a stale socket file is "
    "replaced",
    "[integration][router]") {
  std::string t =
      (fs::temp_directory_path() / "pitstop-listen-XXXXXX").string();
  const std::string dir = ::mkdtemp(t.data());
  const std::string path = dir + "/pitstopd.sock";
  {
    // A socket file nobody listens on: what a killed daemon leaves.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  DaemonSpec spec = RecorderOnly();
  spec.dir = dir;  // its socket is <dir>/pitstopd.sock
  {
    Daemon daemon(spec);
    CommandResult second =
        RunCommand({PITSTOPD_PATH, "--listen", "unix:" + path, "--state-dir",
                    dir + "/other-state", "--drivers-dir", dir + "/none"});
    INFO(second.out << second.err);
    REQUIRE(second.exit_code == 1);
    REQUIRE(second.err.find("another process is serving on it") !=
            std::string::npos);
    // The first daemon still serves.
    REQUIRE(daemon.GetDriver("recorder").state() == sv1::DRIVER_STATE_READY);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace pitstop
