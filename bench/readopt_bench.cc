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

}  // namespace pitstop::bench
