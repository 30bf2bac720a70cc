// The real pitstopd with the real flashpool driver, over gRPC.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"
#include "pitstop/driver/v1/network.grpc.pb.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

dv1::CreateVolumeRequest NewVolume(const std::string& id, uint64_t size) {
  dv1::CreateVolumeRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id(id);
  req.mutable_context()->set_operation_id("create-" + id);
  AddFlashpoolProperties(req.mutable_context());
  req.set_size_bytes(size);
  req.set_name(id + "-name");
  return req;
}

template <typename Request>
Request For(const std::string& type, const std::string& id) {
  Request req;
  req.mutable_context()->mutable_resource()->set_type(type);
  req.mutable_context()->mutable_resource()->set_id(id);
  AddFlashpoolProperties(req.mutable_context());
  return req;
}

TEST_CASE("the daemon lists the sample driver as READY with its process",
          "[integration]") {
  Daemon daemon;
  grpc::ClientContext ctx;
  sv1::ListDriversResponse list;
  REQUIRE(daemon.admin().ListDrivers(&ctx, {}, &list).ok());
  const sv1::Driver* found = nullptr;
  for (const sv1::Driver& driver : list.drivers()) {
    if (driver.name() == "flashpool") found = &driver;
  }
  REQUIRE(found != nullptr);
  const sv1::Driver& d = *found;
  REQUIRE(d.state() == sv1::DRIVER_STATE_READY);
  REQUIRE(d.category() == dv1::CATEGORY_STORAGE);
  REQUIRE(d.pid() > 0);
  REQUIRE(::kill(d.pid(), 0) == 0);
  REQUIRE(d.properties_size() == 9);
  REQUIRE(d.properties(0).key() == "management_vip");
  REQUIRE(!d.properties(0).label().empty());
  REQUIRE(d.properties(0).label() != d.properties(0).label_key());
}

TEST_CASE("routed calls create, resize, snapshot and delete volumes",
          "[integration]") {
  Daemon daemon;
  dv1::CreateVolumeResponse created;
  {
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().CreateVolume(
        ctx.get(), NewVolume("v1", 1 << 30), &created);
    INFO(s.error_message());
    REQUIRE(s.ok());
    REQUIRE(created.path().find("v1") != std::string::npos);
    REQUIRE(!created.vendor_volume_id().empty());
  }
  {
    auto req = For<dv1::ResizeVolumeRequest>("volume", "v1");
    req.set_new_size_bytes(2ull << 30);
    req.set_new_max_iops(20000);
    dv1::ResizeVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().ResizeVolume(ctx.get(), req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  {
    auto req = For<dv1::GetStatsRequest>("volume", "v1");
    dv1::GetStatsResponse stats;
    auto ctx = daemon.Routed("flashpool");
    REQUIRE(daemon.storage().GetStats(ctx.get(), req, &stats).ok());
    REQUIRE(stats.capacity_bytes() == 2ull << 30);
  }
  {
    auto req = For<dv1::TakeSnapshotRequest>("snapshot", "s1");
    req.set_volume_id("v1");
    dv1::TakeSnapshotResponse snap;
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().TakeSnapshot(ctx.get(), req, &snap);
    INFO(s.error_message());
    REQUIRE(s.ok());
    REQUIRE(!snap.path().empty());
  }
  {
    // The driver refuses to delete a volume with snapshots; the daemon
    // relays its status and message unchanged.
    auto req = For<dv1::DeleteVolumeRequest>("volume", "v1");
    dv1::DeleteVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().DeleteVolume(ctx.get(), req, &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    REQUIRE(s.error_message().find("v1") != std::string::npos);
  }
  {
    auto req = For<dv1::DeleteSnapshotRequest>("snapshot", "s1");
    dv1::DeleteSnapshotResponse resp;
    auto ctx = daemon.Routed("flashpool");
    REQUIRE(daemon.storage().DeleteSnapshot(ctx.get(), req, &resp).ok());
  }
  {
    auto req = For<dv1::DeleteVolumeRequest>("volume", "v1");
    dv1::DeleteVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().DeleteVolume(ctx.get(), req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  {
    auto req = For<dv1::DeleteVolumeRequest>("volume", "v1");
    dv1::DeleteVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool");
    REQUIRE(daemon.storage().DeleteVolume(ctx.get(), req, &resp).error_code() ==
            grpc::StatusCode::NOT_FOUND);
  }
}

TEST_CASE("routed calls that cannot be routed fail with a clear status",
          "[integration]") {
  Daemon daemon;
  dv1::CreateVolumeResponse resp;
  SECTION("an unknown driver is NOT_FOUND naming it") {
    auto ctx = daemon.Routed("nosuchdriver");
    grpc::Status s =
        daemon.storage().CreateVolume(ctx.get(), NewVolume("v", 1), &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::NOT_FOUND);
    REQUIRE(s.error_message().find("nosuchdriver") != std::string::npos);
  }
  SECTION("a call without the pitstop-driver key is INVALID_ARGUMENT") {
    grpc::ClientContext ctx;
    grpc::Status s =
        daemon.storage().CreateVolume(&ctx, NewVolume("v", 1), &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    REQUIRE(s.error_message().find("pitstop-driver") != std::string::npos);
  }
  SECTION("a resource type the driver does not declare is INVALID_ARGUMENT") {
    auto req = NewVolume("v", 1);
    req.mutable_context()->mutable_resource()->set_type("bucket");
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().CreateVolume(ctx.get(), req, &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    REQUIRE(s.error_message().find("'bucket'") != std::string::npos);
  }
  SECTION("calling another category's service is FAILED_PRECONDITION") {
    auto network = dv1::NetworkService::NewStub(daemon.channel());
    dv1::DestroyNetworkRequest req;
    req.mutable_context()->mutable_resource()->set_type("network");
    dv1::DestroyNetworkResponse out;
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = network->DestroyNetwork(ctx.get(), req, &out);
    REQUIRE(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    REQUIRE(s.error_message().find("StorageService") != std::string::npos);
  }
  SECTION("a driver's own error reaches the caller unchanged") {
    auto req = NewVolume("v", 1);
    req.set_pool_id("no-such-pool");
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().CreateVolume(ctx.get(), req, &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::NOT_FOUND);
    REQUIRE(s.error_message().find("no-such-pool") != std::string::npos);
  }
  SECTION("a stopped driver is FAILED_PRECONDITION until started again") {
    grpc::ClientContext stop_ctx;
    sv1::StopDriverRequest stop;
    stop.set_name("flashpool");
    sv1::Driver stopped;
    REQUIRE(daemon.admin().StopDriver(&stop_ctx, stop, &stopped).ok());
    REQUIRE(stopped.state() == sv1::DRIVER_STATE_STOPPED);
    REQUIRE(stopped.pid() == 0);
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s =
        daemon.storage().CreateVolume(ctx.get(), NewVolume("v", 1), &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    REQUIRE(s.error_message().find("pitstop start flashpool") !=
            std::string::npos);
    grpc::ClientContext start_ctx;
    sv1::StartDriverRequest start;
    start.set_name("flashpool");
    sv1::Driver started;
    REQUIRE(daemon.admin().StartDriver(&start_ctx, start, &started).ok());
    REQUIRE(started.state() == sv1::DRIVER_STATE_READY);
  }
}

TEST_CASE(
    "a restart through the admin API replaces the process and keeps "
    "the driver's data",
    "[integration]") {
  Daemon daemon;
  dv1::CreateVolumeResponse created;
  {
    auto ctx = daemon.Routed("flashpool");
    REQUIRE(daemon.storage()
                .CreateVolume(ctx.get(), NewVolume("keep", 1 << 20), &created)
                .ok());
  }
  const int old_pid = daemon.GetDriver("flashpool").pid();
  grpc::ClientContext ctx;
  sv1::RestartDriverRequest req;
  req.set_name("flashpool");
  sv1::Driver restarted;
  grpc::Status s = daemon.admin().RestartDriver(&ctx, req, &restarted);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(restarted.state() == sv1::DRIVER_STATE_READY);
  REQUIRE(restarted.pid() != old_pid);
  REQUIRE(restarted.restarts() == 0);

  auto stats_req = For<dv1::GetStatsRequest>("volume", "keep");
  dv1::GetStatsResponse stats;
  auto call = daemon.Routed("flashpool");
  REQUIRE(daemon.storage().GetStats(call.get(), stats_req, &stats).ok());
  REQUIRE(stats.capacity_bytes() == 1 << 20);
}

TEST_CASE(
    "after SIGKILL of the driver the next routed call succeeds within "
    "its two-second deadline",
    "[integration]") {
  Daemon daemon;
  const int old_pid = daemon.GetDriver("flashpool").pid();
  REQUIRE(::kill(old_pid, SIGKILL) == 0);
  auto ctx = daemon.Routed("flashpool", absl::Seconds(2));
  dv1::CreateVolumeResponse created;
  grpc::Status s = daemon.storage().CreateVolume(
      ctx.get(), NewVolume("after-kill", 1 << 20), &created);
  INFO(s.error_message() << "\n" << daemon.Log());
  REQUIRE(s.ok());
  sv1::Driver now = daemon.GetDriver("flashpool");
  REQUIRE(now.pid() != old_pid);
  REQUIRE(now.restarts() == 1);
  REQUIRE(now.last_exit().find("signal 9") != std::string::npos);
}

TEST_CASE("the daemon serves gRPC health and server reflection",
          "[integration]") {
  Daemon daemon;
  grpc::ClientContext ctx;
  grpc::ByteBuffer request, response;
  // grpc.health.v1.HealthCheckRequest{service: ""} is an empty message.
  grpc::GenericStub stub(daemon.channel());
  absl::Mutex mu;
  bool done = false;
  grpc::Status status;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   absl::MutexLock lock(&mu);
                   status = s;
                   done = true;
                 });
  {
    absl::MutexLock lock(&mu);
    REQUIRE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(10)));
  }
  REQUIRE(status.ok());
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  REQUIRE(bytes == std::string("\x08\x01", 2));  // status: SERVING
}

TEST_CASE("SIGTERM stops the drivers, leaves no child, and exits 0",
          "[integration]") {
  Daemon daemon;
  const int driver_pid = daemon.GetDriver("flashpool").pid();
  ExitInfo exit = daemon.Terminate();
  INFO(daemon.Log());
  REQUIRE(exit.Clean());
  // The driver was reaped by the daemon before it exited: no such process.
  REQUIRE(::kill(driver_pid, 0) == -1);
  REQUIRE(errno == ESRCH);
  REQUIRE(daemon.Log().find("driver flashpool is STOPPED") !=
          std::string::npos);
}

TEST_CASE("the CLI lists drivers as JSON and makes routed calls",
          "[integration]") {
  Daemon daemon;
  CommandResult list =
      RunCommand({PITSTOP_CLI_PATH, "--address", daemon.address(), "drivers",
                  "--output", "json"});
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  REQUIRE(list.out.find("\"name\": \"flashpool\"") != std::string::npos);
  REQUIRE(list.out.find("\"state\": \"READY\"") != std::string::npos);

  CommandResult call = RunCommand(
      {PITSTOP_CLI_PATH, "--address", daemon.address(), "call", "flashpool",
       "CreateVolume", "--resource", "volume/cli-1", "--prop",
       "management_vip=10.0.0.5", "--prop", "storage_vip=10.0.1.5", "--prop",
       "admin_username=admin", "--prop", "admin_password=x", "--json",
       R"({"size_bytes": 1048576})"});
  INFO(call.err);
  REQUIRE(call.exit_code == 0);
  REQUIRE(call.out.find("\"path\"") != std::string::npos);
  REQUIRE(call.out.find("cli-1") != std::string::npos);

  CommandResult bad = RunCommand(
      {PITSTOP_CLI_PATH, "--address", daemon.address(), "describe", "nosuch"});
  REQUIRE(bad.exit_code != 0);
  REQUIRE(bad.err.find("NOT_FOUND") != std::string::npos);
  REQUIRE(bad.out.empty());

  CommandResult op =
      RunCommand({PITSTOP_CLI_PATH, "--address", daemon.address(), "call",
                  "flashpool", "CreateNetwork", "--resource", "volume/x"});
  REQUIRE(op.exit_code != 0);
  REQUIRE(op.err.find("CreateVolume") != std::string::npos);
}

TEST_CASE(
    "log_format json writes every line of the daemon and its drivers as one "
    "JSON object",
    "[integration]") {
  const std::string dir = MakeTempDir("pitstop-json-log");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderIn(dir);
  spec.config_yaml = "log_format: json\n";
  Daemon d(spec);
  // A crash: warnings from the supervisor, the driver's own lines.
  const int pid = d.GetDriver("recorder").pid();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  d.AwaitReady("recorder", pid);
  REQUIRE(d.AwaitLog("\"level\":\"warning\"", absl::Seconds(10)));
  const std::string log_file = dir + "/daemon.log";
  std::ofstream(log_file) << d.Log();
  // Python's json module is strict: any line that is not one object fails.
  CommandResult check = RunCommand(
      {"/usr/bin/python3", "-c",
       "import json, sys\n"
       "lines = open(sys.argv[1]).read().splitlines()\n"
       "objects = [json.loads(l) for l in lines]\n"
       "assert all(isinstance(o, dict) and o['msg'] is not None and "
       "o['level'] in ('debug', 'info', 'warning', 'error') for o in objects)\n"
       "print(len(objects), sorted({o['source'] for o in objects}))\n",
       log_file});
  INFO(check.out << check.err << d.Log());
  REQUIRE(check.exit_code == 0);
  CHECK(check.out.find("'supervisor'") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
