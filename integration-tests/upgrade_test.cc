// In-place upgrades under load, with the real daemon, CLI and recorder
// driver: v1 -> v2, then v2 -> v3 where v3 crashes during its probation
// (rolled back), then a graceful restart — while many callers keep calling
// over many resources. The driver records every call it serves; the test
// checks those records against the callers'.

#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/load_generator.h"
#include "integration-tests/daemon_fixture.h"
#include "integration-tests/recorder_records.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace fs = std::filesystem;

TEST_CASE(
    "upgrades and a rollback under load fail no call, never run a resource "
    "on two versions at once, and serve every call exactly once",
    "[integration][upgrade]") {
  RecorderCars cars;
  Daemon daemon(cars.Spec());

  LoadOptions options;
  options.channel = daemon.channel();
  options.driver = "recorder";
  options.callers = 8;
  options.resources = 40;
  options.work_ms = "2";
  LoadGenerator load(options);
  load.Start();
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));

  // v1 -> v2, committed after a short probation.
  CommandResult up2 = Cli(daemon, {"upgrade", "recorder", "--car",
                                   RecorderCar(2), "--probation", "1s"});
  INFO(up2.out << up2.err);
  REQUIRE(up2.exit_code == 0);
  REQUIRE(up2.out.find("upgrade-cut-over") != std::string::npos);
  REQUIRE(up2.out.find("upgrade-committed") != std::string::npos);
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));

  // v2 -> v3, which crashes at its 40th call: rolled back to v2.
  CommandResult up3 = Cli(daemon, {"upgrade", "recorder", "--car",
                                   RecorderCar(3), "--probation", "20s"});
  INFO(up3.out << up3.err);
  REQUIRE(up3.exit_code != 0);
  REQUIRE(up3.out.find("upgrade-rolled-back") != std::string::npos);
  REQUIRE(up3.out.find("crashed during its probation") != std::string::npos);
  REQUIRE(up3.err.find("was rolled back") != std::string::npos);
  std::cout << "pitstop upgrade (v2):\n"
            << up2.out << "pitstop upgrade (v3):\n"
            << up3.out << up3.err;
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));

  // A graceful restart of v2.
  CommandResult restart = Cli(daemon, {"restart", "recorder"});
  INFO(restart.out << restart.err);
  REQUIRE(restart.exit_code == 0);
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));
  load.Stop();

  // Zero failed calls.
  const std::vector<CallRecord> calls = load.Records();
  LoadSummary all =
      load.Summarize(absl::InfinitePast(), absl::InfiniteFuture());
  INFO("calls " << all.calls << ", failed " << all.failed << "; first: "
                << (all.first_errors.empty() ? "" : all.first_errors[0]));
  REQUIRE(all.failed == 0);
  REQUIRE(all.calls >= 800);
  std::cout << all.calls << " calls, " << all.failed << " failed, p50 "
            << all.p50_us << " us, p99 " << all.p99_us << " us\n";

  // Every call served exactly once: one record per operation, none extra.
  const std::string state = daemon.dir() + "/state/data/recorder";
  std::map<std::string, Served> served = ReadServed(state + "/ops");
  REQUIRE(served.size() == calls.size());
  for (const CallRecord& c : calls) {
    auto it = served.find(c.operation_id);
    INFO(c.operation_id);
    REQUIRE(it != served.end());
    REQUIRE(it->second.resource == c.resource);
  }
  // An operation answered from the record instead of running again was
  // first served by the version that crashed (its answer was lost), never
  // run twice at once.
  std::ifstream replays(state + "/replays.log");
  std::string line;
  while (std::getline(replays, line)) {
    INFO("replay: " << line);
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    REQUIRE(f.size() == 2);  // "op version", not "... concurrent"
    REQUIRE(served.at(f[0]).version == "3.0.0");
  }

  // All three versions served, and no resource ever had calls running in
  // two processes at once.
  std::set<std::string> versions;
  for (const auto& [op, s] : served) versions.insert(s.version);
  REQUIRE(versions == std::set<std::string>{"1.0.0", "2.0.0", "3.0.0"});
  REQUIRE(CountOverlaps(served) == 0);

  // v2 is active, alone, and v3 stays installed for another try.
  sv1::Driver d = daemon.GetDriver("recorder");
  REQUIRE(d.version() == "2.0.0");
  REQUIRE(d.previous_version() == "1.0.0");
  REQUIRE(d.instances_size() == 1);
  REQUIRE(std::vector<std::string>(d.installed_versions().begin(),
                                   d.installed_versions().end()) ==
          std::vector<std::string>{"1.0.0", "2.0.0", "3.0.0"});
}

TEST_CASE(
    "a daemon killed mid-upgrade comes back with one consistent active "
    "version and no orphaned process",
    "[integration][upgrade]") {
  RecorderCars cars;
  DaemonSpec spec = cars.Spec();
  spec.dir = cars.dir() + "/daemon";  // kept across the daemons
  fs::create_directories(spec.dir);
  KeeperReaper reaper(spec.dir);
  std::vector<int> pids;
  {
    Daemon first(spec);
    // Cut over to 2.0.0 and stay on probation.
    CommandResult up =
        Cli(first, {"upgrade", "recorder", "--car", RecorderCar(2),
                    "--probation", "60s", "--no-wait"});
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
    const sv1::Driver d =
        AwaitDriver(first, "recorder", [](const sv1::Driver& d) {
          return d.version() == "2.0.0" && d.instances_size() == 2;
        });
    REQUIRE(d.upgrade().find("on probation") != std::string::npos);
    for (const auto& i : d.instances()) pids.push_back(i.pid());
    REQUIRE(pids.size() == 2);
    first.Kill();
  }
  // Both versions' processes outlive the daemon (their keepers do).
  for (int pid : pids) REQUIRE(::kill(pid, 0) == 0);

  // The upgrade never committed: 1.0.0 is active, alone, the same process
  // re-adopted; 2.0.0's process is stopped; 2.0.0 stays installed; the
  // interruption and what became of both processes are reported.
  Daemon second(spec);
  sv1::Driver d = second.AwaitReady("recorder");
  REQUIRE(d.version() == "1.0.0");
  REQUIRE(d.instances_size() == 1);
  REQUIRE(std::find(pids.begin(), pids.end(), d.pid()) != pids.end());
  const int new_version_pid = pids[0] == d.pid() ? pids[1] : pids[0];
  REQUIRE(AwaitProcessesGone({new_version_pid}, absl::Seconds(10)));
  REQUIRE(d.upgrade().empty());
  REQUIRE(std::vector<std::string>(d.installed_versions().begin(),
                                   d.installed_versions().end()) ==
          std::vector<std::string>{"1.0.0", "2.0.0"});
  CommandResult events = Cli(second, {"events", "--driver", "recorder"});
  REQUIRE(events.out.find("the upgrade to 2.0.0 was interrupted by a restart "
                          "of pitstopd before it committed; 1.0.0 stays "
                          "active") != std::string::npos);
  REQUIRE(events.out.find(
              absl::StrCat("re-adopted pid ", d.pid(), " (version 1.0.0)")) !=
          std::string::npos);
  REQUIRE(events.out.find(absl::StrCat(
              "stopped pid ", new_version_pid,
              " (version 2.0.0) left by an earlier pitstopd: version 2.0.0 "
              "is not the active one (1.0.0)")) != std::string::npos);
  // It can be upgraded again, to the end this time.
  CommandResult again = Cli(
      second, {"upgrade", "recorder", "--to", "2.0.0", "--probation", "1s"});
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  REQUIRE(second.GetDriver("recorder").version() == "2.0.0");
  REQUIRE(second.Terminate().Clean());

  // And a committed upgrade survives a restart.
  Daemon third(spec);
  REQUIRE(third.AwaitReady("recorder").version() == "2.0.0");
  REQUIRE(third.GetDriver("recorder").previous_version() == "1.0.0");
  REQUIRE(third.Terminate().Clean());
}

TEST_CASE(
    "a call still running on the old version at the drain timeout is "
    "cancelled and reported",
    "[integration][upgrade]") {
  RecorderCars cars;
  Daemon daemon(cars.Spec());

  // A call that works for 1 s on 1.0.0.
  grpc::Status slow_status;
  std::thread slow([&] {
    pitstop::driver::v1::CreateVolumeRequest req;
    auto* ctx = req.mutable_context();
    ctx->mutable_resource()->set_type("volume");
    ctx->mutable_resource()->set_id("slow");
    ctx->set_operation_id("slow-1");
    (*ctx->mutable_properties())["work_ms"].set_number_value("1000");
    pitstop::driver::v1::CreateVolumeResponse resp;
    auto context = daemon.Routed("recorder", absl::Seconds(20));
    slow_status = daemon.storage().CreateVolume(context.get(), req, &resp);
  });
  AwaitDriver(daemon, "recorder", [](const sv1::Driver& d) {
    return d.instances_size() == 1 && d.instances(0).calls_in_flight() == 1;
  });
  CommandResult up =
      Cli(daemon, {"upgrade", "recorder", "--car", RecorderCar(2),
                   "--drain-timeout", "100ms", "--probation", "500ms"});
  slow.join();
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  REQUIRE(up.out.find("drain-timeout") != std::string::npos);
  REQUIRE(up.out.find("1 calls still running on version 1.0.0") !=
          std::string::npos);
  REQUIRE(slow_status.error_code() == grpc::StatusCode::CANCELLED);
  REQUIRE(daemon.GetDriver("recorder").version() == "2.0.0");
}

TEST_CASE(
    "another version installs beside the active one, and only an inactive "
    "version can be removed alone",
    "[integration][upgrade]") {
  RecorderCars cars;
  Daemon daemon(cars.Spec());
  const int pid = daemon.GetDriver("recorder").pid();

  CommandResult install = Cli(daemon, {"install", RecorderCar(2)});
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  REQUIRE(install.out ==
          "installed recorder 2.0.0 beside the active 1.0.0; switch to it "
          "with `pitstop upgrade recorder --to 2.0.0`\n");
  sv1::Driver d = daemon.GetDriver("recorder");
  REQUIRE(d.version() == "1.0.0");
  REQUIRE(d.pid() == pid);  // nothing restarted
  REQUIRE(d.installed_versions_size() == 2);
  REQUIRE(fs::exists(cars.dir() + "/recorder-2.0.0.car"));
  const std::string v2_dir = daemon.dir() + "/state/packages/recorder/2.0.0";
  REQUIRE(fs::exists(v2_dir));

  CommandResult again = Cli(daemon, {"install", RecorderCar(2)});
  REQUIRE(again.exit_code != 0);
  REQUIRE(again.err.find("ALREADY_EXISTS: driver recorder 2.0.0 is already "
                         "installed; remove it first (`pitstop remove "
                         "recorder --version 2.0.0`)") != std::string::npos);

  CommandResult active =
      Cli(daemon, {"remove", "recorder", "--version", "1.0.0"});
  REQUIRE(active.exit_code != 0);
  REQUIRE(active.err.find("recorder 1.0.0 is the active version") !=
          std::string::npos);
  CommandResult inactive =
      Cli(daemon, {"remove", "recorder", "--version", "2.0.0"});
  INFO(inactive.err);
  REQUIRE(inactive.exit_code == 0);
  REQUIRE(!fs::exists(v2_dir));
  REQUIRE(!fs::exists(cars.dir() + "/recorder-2.0.0.car"));
  REQUIRE(daemon.GetDriver("recorder").pid() == pid);
}

}  // namespace
}  // namespace pitstop
