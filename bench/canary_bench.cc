#include "bench/canary_bench.h"

#include "absl/strings/match.h"
#include "bench/upgrade_steps.h"

namespace pitstop::bench {
namespace {

sv1::CanaryPlan Plan(std::initializer_list<double> steps,
                     absl::Duration interval, uint32_t min_calls) {
  sv1::CanaryPlan plan;
  for (double p : steps) plan.add_steps_percent(p);
  plan.set_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(interval)));
  plan.mutable_gate()->set_min_calls(min_calls);
  return plan;
}

}  // namespace

void Canaries(const Settings& s, ChildProcessManager& launcher) {
  TempDir dir;
  const fs::path cars = dir.path() / "cars";
  fs::create_directories(cars);
  fs::copy_file(RecorderCarPath(1), cars / "recorder-1.0.0.car");
  Daemon daemon(launcher, dir.path(), cars);
  daemon.AwaitReady(1, absl::Seconds(30));

  LoadOptions options;
  options.channel = daemon.channel();
  options.driver = "recorder";
  options.callers = s.upgrade_callers;
  options.resources = s.upgrade_resources;
  options.work_ms = "1";
  LoadGenerator load(options);
  load.Start();
  (void)load.AwaitCalls(s.upgrade_callers * 20, absl::Seconds(30));

  // 10% -> 50% -> 100% to 2.0.0: every call must succeed.
  const absl::Duration interval = s.quick ? absl::Seconds(1) : absl::Seconds(3);
  const sv1::CanaryPlan full = Plan({10, 50, 100}, interval, 10);
  const absl::Time t0 = absl::Now();
  const auto run = FirstByKind(FollowEvents(
      daemon, "recorder",
      StartUpgrade(daemon, RecorderCarPath(2), s.upgrade_probation, &full),
      {"upgrade-old-stopped", "upgrade-rolled-back"}));
  const absl::Time t1 = absl::Now();
  const LoadSummary during = load.Summarize(t0, t1);
  const bool committed = run.count("upgrade-committed") > 0;
  Emit("canary_failed_calls", committed ? during.failed : -1, "calls",
       Detail("goal_max", 0) + Detail("calls", during.calls) +
           Detail("interval_ms", absl::ToDoubleMilliseconds(interval)) +
           FirstErrors(during));
  if (committed) {
    Emit("canary_total_ms",
         absl::ToDoubleMilliseconds(run.at("upgrade-old-stopped") -
                                    run.at("upgrade-started")),
         "ms", Detail("steps", 3));
  }

  // A canary of 4.0.0, which fails every call: rolled back by its gate.
  const sv1::CanaryPlan failing = Plan({10, 100}, interval, 5);
  const std::vector<TimedEvent> events = FollowEvents(
      daemon, "recorder",
      StartUpgrade(daemon, RecorderCarPath(4), s.upgrade_probation, &failing),
      {"upgrade-old-stopped"});
  load.Stop();
  absl::Time rolled_back = absl::InfiniteFuture();
  absl::Time drained = absl::InfiniteFuture();
  for (const TimedEvent& e : events) {
    if (e.kind == "upgrade-rolled-back") rolled_back = e.time;
    if (rolled_back != absl::InfiniteFuture() &&
        drained == absl::InfiniteFuture() &&
        absl::StrContains(e.reason, "4.0.0") &&
        absl::StrContains(e.reason, "has no call left")) {
      drained = e.time;
    }
  }
  Emit("canary_rollback_ms",
       drained == absl::InfiniteFuture()
           ? -1
           : absl::ToDoubleMilliseconds(drained - rolled_back),
       "ms",
       Detail("rolled_back", rolled_back != absl::InfiniteFuture() ? 1 : 0));
}

}  // namespace pitstop::bench
