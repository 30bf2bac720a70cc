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

// grpc.health.v1.Health/Check of `service`, by hand (no health stubs are
// generated here): the call's status, and the answer's status field (1
// SERVING, 2 NOT_SERVING; 0 when the call failed).
std::pair<grpc::Status, int> HealthCheck(Daemon& daemon,
                                         const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  // HealthCheckRequest{service = 1}: tag 0x0a, length, bytes.
  std::string encoded;
  if (!service.empty()) {
    encoded =
        std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::GenericStub stub(daemon.channel());
  absl::Mutex mu;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   absl::MutexLock lock(&mu);
                   status = s;
                   done = true;
                 });
  absl::MutexLock lock(&mu);
  REQUIRE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(15)));
  if (!status.ok()) return {status, 0};
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // HealthCheckResponse{status = 1}: tag 0x08, the enum as a varint.
  return {status, bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0};
}

TEST_CASE("the daemon serves gRPC health and server reflection",
          "[integration]") {
  Daemon daemon;
  const auto [status, serving] = HealthCheck(daemon, "");
  REQUIRE(status.ok());
  REQUIRE(serving == 1);  // SERVING
}

// One exchange on server reflection's stream at `method` (v1 or
// v1alpha): sends `request`, half-closes, and returns the first answer's
// bytes ("" when there is none).
std::string ReflectOnce(Daemon& daemon, const std::string& method,
                        const std::string& request) {
  grpc::GenericStub stub(daemon.channel());
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, method, &cq);
  const auto step = [&cq](int tag) {
    void* got = nullptr;
    bool ok = false;
    REQUIRE(cq.Next(&got, &ok));
    REQUIRE(got == reinterpret_cast<void*>(static_cast<intptr_t>(tag)));
    return ok;
  };
  const auto tag = [](int t) {
    return reinterpret_cast<void*>(static_cast<intptr_t>(t));
  };
  call->StartCall(tag(1));
  REQUIRE(step(1));
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1), in;
  call->Write(out, tag(2));
  REQUIRE(step(2));
  call->WritesDone(tag(3));
  REQUIRE(step(3));
  call->Read(&in, tag(4));
  std::string bytes;
  if (step(4)) {
    std::vector<grpc::Slice> slices;
    REQUIRE(in.Dump(&slices).ok());
    for (auto& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  grpc::Status status;
  call->Finish(&status, tag(5));
  step(5);
  cq.Shutdown();
  void* ignored;
  bool ok;
  while (cq.Next(&ignored, &ok)) {
  }
  return bytes;
}

TEST_CASE(
    "server reflection answers as v1 and v1alpha and lists the routed "
    "category services",
    "[integration]") {
  Daemon daemon;
  // ServerReflectionRequest{list_services = 7: ""}.
  const std::string list(std::string("\x3a\x00", 2));
  for (const char* method :
       {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    INFO(method);
    const std::string answer = ReflectOnce(daemon, method, list);
    for (const char* service :
         {"pitstop.driver.v1.StorageService",
          "pitstop.driver.v1.NetworkService",
          "pitstop.driver.v1.HypervisorService",
          "pitstop.supervisor.v1.AdminService", "grpc.health.v1.Health"}) {
      INFO(service);
      CHECK(answer.find(service) != std::string::npos);
    }
  }
}

// grpc.health.v1.Health/Watch of `service`, read message by message.
class HealthWatch {
 public:
  HealthWatch(Daemon& daemon, const std::string& service)
      : stub_(daemon.channel()) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    call_ = stub_.PrepareCall(&ctx_, "/grpc.health.v1.Health/Watch", &cq_);
    call_->StartCall(Tag(1));
    REQUIRE(Step(1));
    const std::string encoded =
        std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
    grpc::Slice slice(encoded);
    grpc::ByteBuffer request(&slice, 1);
    call_->Write(request, Tag(2));
    REQUIRE(Step(2));
    call_->WritesDone(Tag(3));
    REQUIRE(Step(3));
  }
  ~HealthWatch() {
    ctx_.TryCancel();
    grpc::Status status;
    call_->Finish(&status, Tag(5));
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  // The next status sent (1 SERVING, 2 NOT_SERVING); 0 when the stream
  // ended.
  int Next() {
    grpc::ByteBuffer in;
    call_->Read(&in, Tag(4));
    if (!Step(4)) return 0;
    std::vector<grpc::Slice> slices;
    REQUIRE(in.Dump(&slices).ok());
    std::string bytes;
    for (auto& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
  }

 private:
  static void* Tag(int t) {
    return reinterpret_cast<void*>(static_cast<intptr_t>(t));
  }
  bool Step(int tag) {
    void* got = nullptr;
    bool ok = false;
    REQUIRE(cq_.Next(&got, &ok));
    REQUIRE(got == Tag(tag));
    return ok;
  }

  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
};

TEST_CASE(
    "Watch on a driver's health service reports NOT_SERVING then SERVING "
    "across a restart",
    "[integration]") {
  const std::string dir = MakeTempDir("pitstop-health");
  KeeperReaper reaper(dir);
  Daemon d(RecorderIn(dir));
  HealthWatch watch(d, "pitstop.driver/recorder");
  // SERVING now (after SERVICE_UNKNOWN if the daemon's health thread has
  // not yet seen the READY the fixture waited for).
  int now = watch.Next();
  if (now == 3) now = watch.Next();
  REQUIRE(now == 1);
  // A restart that stops first (a graceful one never leaves READY).
  CommandResult restart = d.Cli({"restart", "recorder", "--force"});
  INFO(restart.out << restart.err);
  REQUIRE(restart.exit_code == 0);
  REQUIRE(watch.Next() == 2);  // NOT_SERVING while it restarts
  REQUIRE(watch.Next() == 1);  // SERVING again
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "each driver is a health service of its own, SERVING only while READY",
    "[integration]") {
  const std::string dir = MakeTempDir("pitstop-health");
  KeeperReaper reaper(dir);
  Daemon d(RecorderIn(dir));
  const auto serving = [&] {
    return HealthCheck(d, "pitstop.driver/recorder").second;
  };
  // The status is set from the events: poll it with a deadline.
  const auto await = [&](int want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (serving() != want && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return serving() == want;
  };
  REQUIRE(await(1));
  CommandResult stop = d.Cli({"stop", "recorder"});
  INFO(stop.out << stop.err);
  REQUIRE(stop.exit_code == 0);
  REQUIRE(await(2));  // NOT_SERVING
  REQUIRE(d.Cli({"start", "recorder"}).exit_code == 0);
  REQUIRE(await(1));
  const auto [unknown, none] = HealthCheck(d, "pitstop.driver/nosuch");
  CHECK(unknown.error_code() == grpc::StatusCode::NOT_FOUND);
  std::filesystem::remove_all(dir);
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
