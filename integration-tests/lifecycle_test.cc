// Ordering, restart policy, hung drivers, events and recovery after a crash
// of the daemon, with the real daemon, the sample drivers and fault drivers.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace fs = std::filesystem;

std::string TestCars(const std::string& name) {
  return std::string(PITSTOP_TEST_CARS_DIR) + "/" + name;
}

TEST_CASE(
    "drivers start network, storage (dependencies first), hypervisor, "
    "and stop in exact reverse",
    "[integration]") {
  Daemon daemon;
  daemon.AwaitReady("proxkvm");
  grpc::ClientContext ctx;
  sv1::GetStartOrderResponse order;
  REQUIRE(daemon.admin().GetStartOrder(&ctx, {}, &order).ok());
  std::vector<std::string> names;
  for (const auto& e : order.drivers()) names.push_back(e.name());
  REQUIRE(names == std::vector<std::string>{"nvpnet", "vlanfabric",
                                            "iscsi-base", "flashpool",
                                            "proxkvm"});
  REQUIRE(order.drivers(3).reason().find("after iscsi-base (requires)") !=
          std::string::npos);

  REQUIRE(daemon.Terminate().Clean());
  // The order of the transitions in the daemon's log.
  std::vector<std::string> started, stopped;
  for (absl::string_view line : absl::StrSplit(daemon.Log(), '\n')) {
    for (const std::string& n : names) {
      if (line.find(" driver=" + n + " ") == absl::string_view::npos) continue;
      if (line.find("to=READY") != absl::string_view::npos)
        started.push_back(n);
      if (line.find("to=STOPPING") != absl::string_view::npos)
        stopped.push_back(n);
    }
  }
  REQUIRE(started == names);
  std::reverse(names.begin(), names.end());
  REQUIRE(stopped == names);
}

TEST_CASE(
    "a crash loop ends in FAILED after the configured count, and reset "
    "revives the driver",
    "[integration]") {
  DaemonSpec spec;
  spec.cars_dir = TestCars("fault-crashloop");
  spec.config_yaml = "restart_max: 3\nrestart_initial_backoff: 10ms\n";
  spec.await_ready = "";
  Daemon daemon(spec);
  sv1::Driver d =
      AwaitDriver(daemon, "fault-crashloop", [](const sv1::Driver& d) {
        return d.state() == sv1::DRIVER_STATE_FAILED;
      });
  REQUIRE(d.restarts() == 4);
  REQUIRE(d.message().find("gave up after 4 exits") != std::string::npos);
  REQUIRE(d.last_exit() == "exited with status 3");
  REQUIRE(d.pid() == 0);

  grpc::ClientContext ctx;
  sv1::ResetDriverRequest req;
  req.set_name("fault-crashloop");
  sv1::Driver revived;
  grpc::Status s = daemon.admin().ResetDriver(&ctx, req, &revived);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(revived.state() == sv1::DRIVER_STATE_READY);
  REQUIRE(revived.restarts() == 0);

  CommandResult events =
      RunCommand({PITSTOP_CLI_PATH, "--address", daemon.address(), "events",
                  "--driver", "fault-crashloop"});
  REQUIRE(events.exit_code == 0);
  REQUIRE(events.out.find("-> FAILED") != std::string::npos);
  REQUIRE(events.out.find("reset requested") != std::string::npos);
}

TEST_CASE("a hung driver is killed at its start timeout and replaced",
          "[integration]") {
  DaemonSpec spec;
  spec.cars_dir = TestCars("fault-hang");
  spec.await_ready = "";
  Daemon daemon(spec);
  const int first_pid =
      AwaitDriver(daemon, "fault-hang", [](const sv1::Driver& d) {
        return d.pid() != 0;
      }).pid();
  sv1::Driver d = AwaitDriver(daemon, "fault-hang", [&](const sv1::Driver& d) {
    return d.restarts() >= 1 && d.pid() != 0 && d.pid() != first_pid;
  });
  REQUIRE(d.last_exit().find("did not become ready within 2s") !=
          std::string::npos);
  // The hung process ignores SIGTERM; the daemon still stops cleanly.
  REQUIRE(daemon.Terminate().Clean());
  REQUIRE(::kill(d.pid(), 0) == -1);
}

TEST_CASE("a driver that stops answering is DEGRADED, then replaced",
          "[integration]") {
  DaemonSpec spec;
  spec.cars_dir = TestCars("fault-normal");
  spec.config_yaml =
      "health_interval: 100ms\nhealth_failures: 2\ndegraded_grace: 1s\n";
  spec.await_ready = "fault-normal";
  Daemon daemon(spec);
  const int pid = daemon.GetDriver("fault-normal").pid();
  // A process that no longer runs: as hung as a process gets.
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  sv1::Driver d = AwaitDriver(daemon, "fault-normal", [](const sv1::Driver& d) {
    return d.state() == sv1::DRIVER_STATE_DEGRADED;
  });
  REQUIRE(d.message().find("probes failed in a row") != std::string::npos);
  d = AwaitDriver(daemon, "fault-normal", [&](const sv1::Driver& d) {
    return d.state() == sv1::DRIVER_STATE_READY && d.pid() != pid;
  });
  REQUIRE(d.last_exit().find("stopped answering its probe") !=
          std::string::npos);
  REQUIRE(::kill(pid, 0) == -1);  // the hung process was killed and reaped
}

TEST_CASE("a graceful restart under continuous calls fails no call",
          "[integration]") {
  Daemon daemon;
  const int old_pid = daemon.GetDriver("flashpool").pid();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::string> errors;
  absl::Mutex mu;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      auto stub =
          pitstop::driver::v1::StorageService::NewStub(daemon.channel());
      while (!stop.load()) {
        // No operation id: the daemon may not resend these.
        pitstop::driver::v1::GetStorageCapabilitiesRequest req;
        AddFlashpoolProperties(req.mutable_context());
        pitstop::driver::v1::GetStorageCapabilitiesResponse resp;
        auto ctx = daemon.Routed("flashpool");
        grpc::Status s = stub->GetCapabilities(ctx.get(), req, &resp);
        if (s.ok()) {
          ++ok;
        } else {
          ++failed;
          absl::MutexLock lock(&mu);
          errors.push_back(s.error_message());
        }
      }
    });
  }
  // Calls are flowing before, during and after the restart.
  auto await_calls = [&](int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (ok.load() < n && failed.load() == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  };
  await_calls(50);
  grpc::ClientContext ctx;
  sv1::RestartDriverRequest req;
  req.set_name("flashpool");
  sv1::Driver restarted;
  grpc::Status s = daemon.admin().RestartDriver(&ctx, req, &restarted);
  await_calls(ok.load() + 50);
  stop = true;
  for (auto& c : callers) c.join();
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(restarted.state() == sv1::DRIVER_STATE_READY);
  REQUIRE(restarted.pid() != old_pid);
  INFO((errors.empty() ? std::string() : errors[0]));
  REQUIRE(failed.load() == 0);
  // The old process drained and was stopped.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (::kill(old_pid, 0) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  REQUIRE(::kill(old_pid, 0) == -1);
}

TEST_CASE("a call runs no longer than the driver's call timeout",
          "[integration]") {
  DaemonSpec spec;
  spec.cars_dir = TestCars("fault-normal");  // timeouts.call: 1s
  spec.await_ready = "fault-normal";
  Daemon daemon(spec);
  pitstop::driver::v1::GetStatsRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id("v");
  (*req.mutable_context()->mutable_properties())["delay_ms"].set_number_value(
      "20000");
  pitstop::driver::v1::GetStatsResponse resp;
  auto ctx = daemon.Routed("fault-normal", absl::Seconds(30));
  grpc::Status s = daemon.storage().GetStats(ctx.get(), req, &resp);
  INFO(s.error_message());
  REQUIRE(s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_CASE("watchers see transitions live", "[integration]") {
  Daemon daemon;
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  sv1::WatchEventsRequest req;
  req.set_follow(true);
  req.set_driver("flashpool");
  // Skip the backlog: only what happens from now on.
  {
    grpc::ClientContext ctx;
    sv1::WatchEventsRequest backlog;
    auto reader = daemon.admin().WatchEvents(&ctx, backlog);
    sv1::Event e;
    while (reader->Read(&e)) req.set_since_sequence(e.sequence());
    REQUIRE(reader->Finish().ok());
  }
  auto reader = daemon.admin().WatchEvents(&watch_ctx, req);
  std::thread restart([&] {
    grpc::ClientContext ctx;
    sv1::RestartDriverRequest r;
    r.set_name("flashpool");
    r.set_force(true);  // stop, then start: every state in turn
    sv1::Driver out;
    (void)daemon.admin().RestartDriver(&ctx, r, &out);
  });
  std::vector<std::string> seen;
  sv1::Event e;
  while (reader->Read(&e)) {
    if (e.kind() != "state") continue;
    seen.push_back(sv1::DriverState_Name(e.to()));
    if (e.to() == sv1::DRIVER_STATE_READY) break;
  }
  watch_ctx.TryCancel();
  (void)reader->Finish();
  restart.join();
  REQUIRE(seen == std::vector<std::string>{
                      "DRIVER_STATE_STOPPING", "DRIVER_STATE_STOPPED",
                      "DRIVER_STATE_STARTING", "DRIVER_STATE_READY"});
}

std::vector<int> DriverPids(Daemon& daemon) {
  grpc::ClientContext ctx;
  sv1::ListDriversResponse list;
  REQUIRE(daemon.admin().ListDrivers(&ctx, {}, &list).ok());
  std::vector<int> pids;
  for (const auto& d : list.drivers()) {
    if (d.pid() != 0) pids.push_back(d.pid());
  }
  return pids;
}

TEST_CASE(
    "after SIGKILL of pitstopd the drivers keep running, and a new pitstopd "
    "re-adopts them with their pids, and a stopped driver stays stopped",
    "[integration][readopt]") {
  std::string t = (fs::temp_directory_path() / "pitstop-crash-XXXXXX").string();
  const std::string dir = ::mkdtemp(t.data());
  KeeperReaper reaper(dir);
  DaemonSpec spec;
  spec.dir = dir;
  std::vector<int> old_pids;
  {
    Daemon first(spec);
    first.AwaitReady("proxkvm");
    grpc::ClientContext ctx;
    sv1::StopDriverRequest stop;
    stop.set_name("proxkvm");
    sv1::Driver stopped;
    REQUIRE(first.admin().StopDriver(&ctx, stop, &stopped).ok());
    REQUIRE(stopped.state() == sv1::DRIVER_STATE_STOPPED);
    old_pids = DriverPids(first);
    REQUIRE(old_pids.size() == 4);
    first.Kill();
  }
  // Each driver's keeper outlives the daemon, and so does the driver.
  for (int pid : old_pids) REQUIRE(::kill(pid, 0) == 0);

  Daemon second(spec);
  std::vector<int> new_pids;
  for (const char* name : {"nvpnet", "vlanfabric", "iscsi-base", "flashpool"}) {
    new_pids.push_back(second.AwaitReady(name).pid());
  }
  std::sort(old_pids.begin(), old_pids.end());
  std::sort(new_pids.begin(), new_pids.end());
  REQUIRE(new_pids == old_pids);
  REQUIRE(second.GetDriver("proxkvm").state() == sv1::DRIVER_STATE_STOPPED);
  const CommandResult events =
      RunCommand({PITSTOP_CLI_PATH, "--address", second.address(), "events"});
  for (int pid : old_pids) {
    INFO(events.out);
    REQUIRE(events.out.find(absl::StrCat("re-adopted pid ", pid)) !=
            std::string::npos);
  }
  // A normal stop still stops every driver, adopted ones included.
  REQUIRE(second.Terminate().Clean());
  REQUIRE(AwaitProcessesGone(old_pids, absl::Seconds(10)));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
