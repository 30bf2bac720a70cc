// Drivers outlive pitstopd: kill -9 of the daemon under load, re-adoption by
// a new daemon, and every way re-adoption refuses what it cannot prove
// (docs/lifecycle.md, "Re-adoption").

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/load_generator.h"
#include "integration-tests/daemon_fixture.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace dv1 = pitstop::driver::v1;
namespace sv1 = pitstop::supervisor::v1;

// key=value lines of a keeper record.
std::map<std::string, std::string> ReadRecord(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

void WriteRecord(const std::string& path,
                 const std::map<std::string, std::string>& record) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& [k, v] : record) out << k << "=" << v << "\n";
}

// The record of `driver`'s one keeper in the daemon's state directory.
std::string RecordOf(const Daemon& daemon, const std::string& driver) {
  for (const auto& e :
       fs::directory_iterator(fs::path(daemon.dir()) / "state" / "keepers")) {
    const std::string name = e.path().filename().string();
    if (name.rfind(driver + ".", 0) == 0 && e.path().extension() == ".rec") {
      return e.path().string();
    }
  }
  FAIL("no keeper record for " << driver);
  return "";
}

bool AwaitFile(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!fs::exists(path)) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

std::string Events(Daemon& daemon) {
  return RunCommand({PITSTOP_CLI_PATH, "--address", daemon.address(), "events"})
      .out;
}

TEST_CASE(
    "with leave_drivers_on_exit, SIGTERM drains the calls and exits 0 with "
    "the driver running, and the next pitstopd re-adopts it: a restart costs "
    "no driver",
    "[integration][readopt]") {
  if (!KeepersOnThisHost()) return;
  const std::string dir = MakeTempDir("pitstop-leave");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderIn(dir);
  spec.extra_args = {"--leave-drivers-on-exit"};
  int pid = 0;
  {
    Daemon first(spec);
    pid = first.GetDriver("recorder").pid();
    const ExitInfo exit = first.Terminate();
    INFO(first.Log());
    REQUIRE(exit.Clean());
    CHECK(first.AwaitLog("exited with the drivers running", absl::Seconds(5)));
  }
  REQUIRE(::kill(pid, 0) == 0);
  // Without the flag the next SIGTERM is a full stop, as by default.
  spec.extra_args.clear();
  Daemon second(spec);
  const auto recorder = second.GetDriver("recorder");
  CHECK(recorder.pid() == pid);
  CHECK(recorder.state() == pitstop::supervisor::v1::DRIVER_STATE_READY);
  REQUIRE(second.Terminate().Clean());
  REQUIRE(AwaitProcessesGone({pid}, absl::Seconds(10)));
  fs::remove_all(dir);
}

TEST_CASE(
    "kill -9 of pitstopd under load: the driver keeps its pid, a new "
    "pitstopd re-adopts it, callers that wait for ready and resend with the "
    "operation id lose no call, and what the driver wrote meanwhile reaches "
    "the new daemon's log",
    "[integration][readopt]") {
  if (!KeepersOnThisHost()) return;
  const std::string dir = MakeTempDir("pitstop-readopt");
  KeeperReaper reaper(dir);
  const DaemonSpec spec = RecorderIn(dir);
  Daemon first(spec);
  const int pid = first.GetDriver("recorder").pid();

  LoadOptions options;
  options.channel = first.channel();
  options.driver = "recorder";
  options.callers = 8;
  options.resources = 40;
  options.work_ms = "2";
  options.retry_unavailable = true;
  options.call_timeout = absl::Seconds(30);
  LoadGenerator load(options);
  load.Start();
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));

  // A line the driver writes 300 ms from now: while no daemon runs.
  {
    dv1::CreateVolumeRequest request;
    dv1::CallContext* ctx = request.mutable_context();
    ctx->mutable_resource()->set_type("volume");
    ctx->mutable_resource()->set_id("said");
    ctx->set_operation_id("say-1");
    (*ctx->mutable_properties())["say"].set_string_value(
        "written while no daemon ran");
    (*ctx->mutable_properties())["say_after_ms"].set_number_value("300");
    dv1::CreateVolumeResponse response;
    auto call = first.Routed("recorder");
    grpc::Status s =
        first.storage().CreateVolume(call.get(), request, &response);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  first.Kill();
  REQUIRE(::kill(pid, 0) == 0);
  REQUIRE(AwaitFile(
      (fs::path(dir) / "state" / "data" / "recorder" / "said-say-1").string(),
      absl::Seconds(10)));

  Daemon second(spec);
  REQUIRE(second.GetDriver("recorder").pid() == pid);
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));
  load.Stop();
  int64_t failed = 0, retried = 0;
  std::string first_error;
  for (const CallRecord& r : load.Records()) {
    if (!r.ok && first_error.empty()) first_error = r.error;
    failed += r.ok ? 0 : 1;
    retried += r.attempts > 1 ? 1 : 0;
  }
  INFO(first_error);
  REQUIRE(failed == 0);
  std::cout << "calls resent after the kill: " << retried << "\n";
  // The keeper kept the line, and the new daemon logs it as the driver's.
  REQUIRE(
      second.AwaitLog("said: written while no daemon ran", absl::Seconds(10)));
  REQUIRE(second.Terminate().Clean());
  REQUIRE(AwaitProcessesGone({pid}, absl::Seconds(10)));
  fs::remove_all(dir);
}

TEST_CASE(
    "a driver killed while no daemon runs is reported with its exit and "
    "restarted by its policy after re-adoption",
    "[integration][readopt]") {
  if (!KeepersOnThisHost()) return;
  const std::string dir = MakeTempDir("pitstop-readopt");
  KeeperReaper reaper(dir);
  const DaemonSpec spec = RecorderIn(dir);
  int pid = 0;
  {
    Daemon first(spec);
    pid = first.GetDriver("recorder").pid();
    first.Kill();
  }
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(AwaitProcessesGone({pid}, absl::Seconds(10)));

  Daemon second(spec);
  const sv1::Driver d = second.AwaitReady("recorder", pid);
  REQUIRE(d.pid() != pid);
  REQUIRE(d.restarts() == 1);
  REQUIRE(d.last_exit().find("killed by signal 9") != std::string::npos);
  const std::string events = Events(second);
  INFO(events);
  REQUIRE(events.find(absl::StrCat("re-adopted pid ", pid,
                                   " (version 1.0.0) from an earlier "
                                   "pitstopd; it exited meanwhile")) !=
          std::string::npos);
  REQUIRE(second.Terminate().Clean());
  fs::remove_all(dir);
}

TEST_CASE(
    "re-adoption refuses what it cannot prove: a keeper that does not "
    "answer, a record from an earlier boot, a replaced keeper socket, and an "
    "unrelated process named by a pid file is neither killed nor adopted",
    "[integration][readopt]") {
  if (!KeepersOnThisHost()) return;
  const std::string dir = MakeTempDir("pitstop-refuse");
  KeeperReaper reaper(dir);
  DaemonSpec spec;  // the four sample drivers
  spec.dir = dir;
  spec.await_ready = "proxkvm";
  std::map<std::string, int> pids;
  std::map<std::string, std::map<std::string, std::string>> records;
  {
    Daemon first(spec);
    for (const char* name : {"nvpnet", "iscsi-base", "flashpool", "proxkvm"}) {
      pids[name] = first.AwaitReady(name).pid();
      records[name] = ReadRecord(RecordOf(first, name));
    }
    first.Kill();
  }
  const fs::path state = fs::path(dir) / "state";
  auto record_path = [&](const std::string& name) {
    return (state / "keepers" /
            absl::StrCat(name, ".", records[name]["instance"], ".rec"))
        .string();
  };
  // iscsi-base: a keeper that does not answer (stopped).
  const int hung_keeper = std::stoi(records["iscsi-base"]["keeper_pid"]);
  REQUIRE(StopProcess(hung_keeper));
  // proxkvm: its record says it is from another boot.
  const int old_boot_keeper = std::stoi(records["proxkvm"]["keeper_pid"]);
  {
    auto r = records["proxkvm"];
    r["boot_id"] = "00000000-0000-0000-0000-000000000000";
    WriteRecord(record_path("proxkvm"), r);
  }
  // nvpnet: its control socket replaced by one this test serves.
  const std::string nvpnet_socket = records["nvpnet"]["socket"];
  REQUIRE(::unlink(nvpnet_socket.c_str()) == 0);
  const int impostor = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, nvpnet_socket.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(impostor, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
          0);
  REQUIRE(::listen(impostor, 4) == 0);
  // flashpool: its pid file names an unrelated process.
  ChildProcessManager launcher;
  LaunchSpec sleeper;
  sleeper.executable = "/bin/sleep";
  sleeper.args = {"60"};
  absl::StatusOr<pid_t> unrelated = launcher.Launch(sleeper, nullptr, nullptr);
  REQUIRE(unrelated.ok());
  {
    std::ofstream pid_file(
        state / "run" / "flashpool" / records["flashpool"]["instance"] / "pid",
        std::ios::trunc);
    pid_file << *unrelated << "\n";
  }

  const absl::Time started = absl::Now();
  Daemon second(spec);
  // flashpool is adopted as it was; the three others start anew.
  REQUIRE(second.AwaitReady("flashpool").pid() == pids["flashpool"]);
  for (const char* name : {"nvpnet", "iscsi-base", "proxkvm"}) {
    REQUIRE(second.AwaitReady(name, pids[name]).pid() != pids[name]);
  }
  std::cout << "daemon start to every driver READY with three refusals: "
            << absl::FormatDuration(absl::Now() - started) << "\n";
  REQUIRE(::kill(*unrelated, 0) == 0);  // not killed
  const std::string log = second.Log();
  INFO(log);
  REQUIRE(log.find("keeper of iscsi-base instance") != std::string::npos);
  REQUIRE(log.find("it does not answer in time; stopped") != std::string::npos);
  REQUIRE(log.find("recorded in an earlier boot") != std::string::npos);
  REQUIRE(log.find(absl::StrCat("its control socket is served by pid ",
                                ::getpid(), ", not the keeper")) !=
          std::string::npos);
  REQUIRE(AwaitProcessesGone({hung_keeper, pids["iscsi-base"], pids["nvpnet"]},
                             absl::Seconds(10)));
  REQUIRE(second.Terminate().Clean());
  // The keeper whose record could not be trusted was left alone; its driver
  // was stopped as a leftover. End it here.
  ::kill(old_boot_keeper, SIGKILL);
  ::close(impostor);
  (void)launcher.Signal(*unrelated, SIGKILL);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
