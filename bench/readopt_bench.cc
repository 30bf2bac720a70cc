#include "bench/readopt_bench.h"

#include <memory>

namespace pitstop::bench {
namespace {

std::string DriverName(int i) {
  return absl::StrCat("bench-", i < 10 ? "00" : i < 100 ? "0" : "", i);
}

struct Round {
  double ms = 0;
  bool same_pid = false;
};

// Kills `daemon`, starts a new one on the same directory, and times the
// first routed call to `driver`.
Round KillAndReadopt(std::unique_ptr<Daemon>& daemon,
                     ChildProcessManager& launcher, const fs::path& dir,
                     const std::string& driver) {
  const pid_t before = daemon->Get(driver).pid();
  daemon->Kill();
  const absl::Time t0 = absl::Now();
  daemon = std::make_unique<Daemon>(launcher, dir, dir / "cars");
  Caller caller(daemon->socket(), driver);
  if (!caller.CallWhenReady(absl::Seconds(30))) {
    std::cerr << "pitstop-bench: no routed call after re-adoption\n";
    std::exit(1);
  }
  Round r;
  r.ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
  r.same_pid = daemon->Get(driver).pid() == before;
  return r;
}

}  // namespace

void Readopt(const Settings& s, ChildProcessManager& launcher) {
  for (const int drivers : {4, s.many_drivers}) {
    TempDir dir;
    for (int i = 0; i < drivers; ++i) {
      MakeBenchCar(dir.path() / "cars", DriverName(i));
    }
    auto daemon =
        std::make_unique<Daemon>(launcher, dir.path(), dir.path() / "cars");
    daemon->AwaitReady(drivers, absl::Seconds(120));
    const std::string driver = DriverName(drivers / 2);
    std::vector<double> ms;
    bool all_same = true;
    const int rounds = drivers == 4 ? s.readopt_rounds : 1;
    for (int i = 0; i < rounds; ++i) {
      const Round r = KillAndReadopt(daemon, launcher, dir.path(), driver);
      ms.push_back(r.ms);
      all_same = all_same && r.same_pid;
      daemon->AwaitReady(drivers, absl::Seconds(120));
    }
    const std::string extra =
        Detail("drivers", drivers) +
        absl::StrCat(", \"same_pid\": ", all_same ? "true" : "false");
    if (drivers == 4) {
      Emit("readopt_ms_p50", Percentile(ms, 0.5), "ms",
           Detail("goal_max", 100) + extra);
    } else {
      Emit(absl::StrCat("readopt_ms_", drivers, "_drivers"), ms.front(), "ms",
           Detail("goal_max", 1000) + extra);
    }
  }
}

void Handover(const Settings& s, ChildProcessManager& launcher) {
  TempDir dir;
  const fs::path cars = dir.path() / "cars";
  fs::create_directories(cars);
  fs::copy_file(absl::StrCat(RECORDER_CARS_DIR, "/recorder-1/recorder-1.car"),
                cars / "recorder-1.0.0.car");
  auto old_daemon = std::make_unique<Daemon>(launcher, dir.path(), cars);
  old_daemon->AwaitReady(1, absl::Seconds(30));
  const pid_t before = old_daemon->Get("recorder").pid();

  LoadOptions options;
  // An ordinary client's channel (the daemon fixture's reconnects within
  // 10 ms, and would give up on a connection waiting in the backlog that
  // fast).
  options.channel = grpc::CreateChannel("unix:" + old_daemon->socket(),
                                        grpc::InsecureChannelCredentials());
  options.driver = "recorder";
  options.callers = s.upgrade_callers;
  options.resources = s.upgrade_resources;
  options.work_ms = "1";
  options.call_timeout = absl::Seconds(30);
  LoadGenerator load(options);
  load.Start();
  (void)load.AwaitCalls(s.upgrade_callers * 20, absl::Seconds(30));
  const absl::Time t0 = absl::Now();
  absl::SleepFor(s.upgrade_baseline);

  const absl::Time t1 = absl::Now();
  Daemon new_daemon(launcher, dir.path(), cars, {"--take-over"});
  if (!old_daemon->AwaitExit(absl::Seconds(60))) {
    std::cerr << "pitstop-bench: the old pitstopd did not exit after the "
                 "hand-over\n";
    std::exit(1);
  }
  new_daemon.AwaitReady(1, absl::Seconds(30));
  absl::SleepFor(absl::Seconds(1));  // calls after the hand-over
  const absl::Time t2 = absl::Now();
  load.Stop();
  old_daemon.reset();

  const LoadSummary baseline = load.Summarize(t0, t1);
  const LoadSummary during = load.Summarize(t1, t2);
  double max_ms = 0;
  for (const CallRecord& r : load.Records()) {
    if (r.start >= t1) {
      max_ms = std::max(max_ms, absl::ToDoubleMilliseconds(r.end - r.start));
    }
  }
  const bool same_pid = new_daemon.Get("recorder").pid() == before;
  const LoadSummary all = load.Summarize(t0, t2);
  const std::string size = Detail("callers", s.upgrade_callers) +
                           Detail("resources", s.upgrade_resources);
  Emit("handover_failed_calls", all.failed, "calls",
       Detail("goal_max", 0) + size + Detail("calls_during", during.calls) +
           FirstErrors(all));
  Emit("handover_p99_ratio", during.p99_us / baseline.p99_us, "ratio",
       Detail("goal_max", 2) + Detail("p99_us_before", baseline.p99_us) +
           Detail("p99_us_during", during.p99_us) +
           absl::StrCat(", \"same_pid\": ", same_pid ? "true" : "false"));
  Emit("handover_max_call_ms", max_ms, "ms");
}

}  // namespace pitstop::bench
