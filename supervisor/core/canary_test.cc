// Canary upgrades through the Supervisor over fakes: shares, the hold at
// every step, the gate, rollbacks, and an operator's hand.

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "supervisor/core/canary_plan.h"
#include "supervisor/core/supervisor_test_fixture.h"

namespace pitstop {
namespace {

CanaryPlan TenFiftyHundred() {
  CanaryPlan plan;
  plan.steps = {10, 50, 100};
  plan.interval = absl::Seconds(60);
  return plan;
}

// The first resource of `driver` in (or out of) the share `percent`, and
// not in `below` (a smaller share).
std::string ResourceAt(double percent, bool in, double below = -1) {
  const CanaryPlan plan = TenFiftyHundred();
  for (int i = 0;; ++i) {
    const std::string r = absl::StrCat("volume/v", i);
    if (InCanary(plan, percent, "flashpool", r) == in &&
        (below < 0 || !InCanary(plan, below, "flashpool", r))) {
      return r;
    }
  }
}

// Calls of one version so far: `calls`, `errors` of them the driver's,
// each 1 ms.
CallTotals Totals(uint64_t calls, uint64_t errors) {
  CallTotals t;
  t.calls = calls;
  t.driver_errors = errors;
  t.buckets.assign(kLatencyBoundCount + 1, 0);
  t.buckets[2] = calls;
  return t;
}

struct CanaryFixture : UpgradeFixture {
  pid_t new_pid = 0;
  // Upgrades to 2.0.0 as a canary until its first step serves.
  void Begin(CanaryPlan plan = TenFiftyHundred()) {
    UpgradeOptions options;
    options.canary = std::move(plan);
    REQUIRE(supervisor.Upgrade("flashpool", "2.0.0", options).ok());
    supervisor.Step();  // launch 2.0.0 beside 1.0.0
    new_pid = launcher.last_pid;
    supervisor.Step();
    endpoints.Answer(true);
    supervisor.Step();  // the first step
  }
  pid_t PidOf(size_t call) { return routes[call]->pid; }
  void Calls(const std::string& version, uint64_t calls, uint64_t errors) {
    totals[{"flashpool", version}] = Totals(calls, errors);
  }
  std::vector<std::string> Kinds() {
    std::vector<std::string> kinds;
    for (const DriverEvent& e : events.Since(0)) {
      if (e.kind.rfind("canary-", 0) == 0 || e.kind.rfind("upgrade-", 0) == 0) {
        kinds.push_back(e.kind);
      }
    }
    return kinds;
  }
};

TEST_CASE(
    "a canary serves its share on the new version and the rest on the old, "
    "moves each resource only once its calls end, and commits after 100%",
    "[core][canary]") {
  CanaryFixture f;
  const std::string in10 = ResourceAt(10, true);
  const std::string in50 = ResourceAt(50, true, 10);
  const std::string out = ResourceAt(50, false);
  f.Calls("1.0.0", 0, 0);
  f.Calls("2.0.0", 0, 0);
  // Busy on 1.0.0 before the canary: it moves at the second step.
  f.Begin();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->package->manifest.version.ToString() == "1.0.0");
  REQUIRE(status->upgrade.find("canary at 10% (step 1 of 3)") !=
          std::string::npos);
  REQUIRE(f.PidOf(f.Call(in10)) == f.new_pid);
  const size_t busy50 = f.Call(in50);
  REQUIRE(f.PidOf(busy50) == f.old_pid);
  const size_t on_old = f.Call(out);
  REQUIRE(f.PidOf(on_old) == f.old_pid);
  REQUIRE(f.PidOf(f.Call("")) == f.old_pid);  // names no resource
  REQUIRE(f.supervisor.Where("flashpool", in10)->why == "canary");
  REQUIRE(f.supervisor.Where("flashpool", in10)->version == "2.0.0");
  REQUIRE(f.supervisor.Where("flashpool", out)->why == "default");

  // The interval passes with the gate holding: 50%.
  f.Calls("1.0.0", 900, 0);
  f.Calls("2.0.0", 100, 0);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->upgrade.find("at 50% (step 2 of 3)") !=
          std::string::npos);
  // in50 has a call running on 1.0.0: its next one waits for it.
  const size_t waits = f.Call(in50);
  REQUIRE(f.Waiting(waits));
  REQUIRE(f.supervisor.Where("flashpool", in50)->moving_from == "1.0.0");
  f.End(busy50);
  f.supervisor.Step();
  REQUIRE(f.PidOf(waits) == f.new_pid);
  REQUIRE(f.PidOf(f.Call(out)) == f.old_pid);
  f.End(on_old);
  f.End(on_old + 1);
  f.End(f.routes.size() - 1);

  // The gate holds again: 100% is the cut-over, then the probation.
  f.Calls("1.0.0", 1800, 0);
  f.Calls("2.0.0", 600, 0);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  f.supervisor.Step();
  status = f.supervisor.Get("flashpool");
  REQUIRE(status->package->manifest.version.ToString() == "2.0.0");
  REQUIRE(status->upgrade.find("on probation") != std::string::npos);
  REQUIRE(f.PidOf(f.Call(out)) == f.new_pid);
  f.clock.Advance(absl::Seconds(10));
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->upgrade.empty());
  REQUIRE(f.store.saved.at("flashpool").active_version == "2.0.0");
  REQUIRE(f.Kinds() == std::vector<std::string>{
                           "upgrade-started", "upgrade-ready", "canary-step",
                           "canary-gate", "canary-step", "canary-gate",
                           "canary-step", "upgrade-ready", "upgrade-cut-over",
                           "upgrade-drained", "upgrade-committed"});
}

TEST_CASE(
    "a canary whose new version fails its calls is rolled back by the gate, "
    "its resources waiting for their calls there, then on the old version",
    "[core][canary]") {
  CanaryFixture f;
  const std::string in10 = ResourceAt(10, true);
  f.Begin();
  const size_t on_new = f.Call(in10);
  REQUIRE(f.PidOf(on_new) == f.new_pid);
  f.Calls("1.0.0", 900, 1);
  f.Calls("2.0.0", 100, 30);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->upgrade.empty());
  REQUIRE(status->message.find(
              "canary of 2.0.0 rolled back at 10% (step 1 of 3): its gate "
              "failed on error rate 2.0.0 30.00% (30 of 100 calls) against "
              "1.0.0 0.11%") != std::string::npos);
  // in10 still has a call on 2.0.0: its next waits, then goes to 1.0.0.
  const size_t next = f.Call(in10);
  REQUIRE(f.Waiting(next));
  f.End(on_new);
  f.supervisor.Step();
  REQUIRE(f.PidOf(next) == f.old_pid);
  REQUIRE(f.launcher.children[f.new_pid].signals == std::vector<int>{SIGTERM});
  REQUIRE(f.store.saved.at("flashpool").active_version == "1.0.0");
  REQUIRE(f.store.saved.at("flashpool").upgrading_to.empty());
}

TEST_CASE("a canary whose new version crashes is rolled back at once",
          "[core][canary]") {
  CanaryFixture f;
  f.Begin();
  f.launcher.Exit(f.new_pid, ExitInfo{0, SIGSEGV});
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->upgrade.empty());
  REQUIRE(status->pid == f.old_pid);
  REQUIRE(status->message.find("the new version killed by signal 11") !=
          std::string::npos);
  REQUIRE(f.PidOf(f.Call(ResourceAt(10, true))) == f.old_pid);
}

TEST_CASE(
    "a canary waits for enough calls, holds its step while paused, and an "
    "operator can promote or abort it",
    "[core][canary]") {
  CanaryFixture f;
  f.Begin();
  f.Calls("2.0.0", 5, 0);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->upgrade.find("step 1 of 3") !=
          std::string::npos);
  REQUIRE(f.events.Since(0).back().reason.find("2.0.0 had 5 calls") !=
          std::string::npos);

  REQUIRE(
      f.supervisor.ControlCanary("flashpool", Supervisor::CanaryAction::kPause)
          .ok());
  f.Calls("1.0.0", 900, 0);
  f.Calls("2.0.0", 100, 0);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")
              ->upgrade.find("at 10% (step 1 of 3), paused") !=
          std::string::npos);

  SECTION("promoted") {
    REQUIRE(f.supervisor
                .ControlCanary("flashpool", Supervisor::CanaryAction::kPromote)
                .ok());
    f.supervisor.Step();
    REQUIRE(
        f.supervisor.Get("flashpool")->package->manifest.version.ToString() ==
        "2.0.0");
  }
  SECTION("aborted") {
    REQUIRE(f.supervisor.Rollback("flashpool").ok());
    f.supervisor.Step();
    auto status = f.supervisor.Get("flashpool");
    REQUIRE(status->upgrade.empty());
    REQUIRE(status->message.find("it was rolled back by an operator") !=
            std::string::npos);
  }
}

TEST_CASE("a canary is refused without call figures or a READY driver",
          "[core][canary]") {
  UpgradeFixture f;
  UpgradeOptions options;
  options.canary = TenFiftyHundred();
  options.canary->steps = {10, 5};
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0", options).status().code() ==
          absl::StatusCode::kInvalidArgument);
  REQUIRE(f.supervisor.Stop("flashpool").ok());
  f.supervisor.Step();
  f.launcher.Exit(f.old_pid, ExitInfo{0, SIGTERM});
  f.supervisor.Step();
  options.canary = TenFiftyHundred();
  const auto refused = f.supervisor.Upgrade("flashpool", "2.0.0", options);
  REQUIRE(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(refused.status().message().find("start it first") !=
          std::string::npos);
  REQUIRE(f.supervisor
              .ControlCanary("flashpool", Supervisor::CanaryAction::kPromote)
              .status()
              .code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE(
    "a pinned resource stays on its version through an upgrade, which keeps "
    "that version running for it until it is unpinned",
    "[core][canary][pin]") {
  UpgradeFixture f;
  REQUIRE(f.supervisor.Pin("flashpool", "volume/kept", "1.0.0").ok());
  REQUIRE(f.store.saved.at("flashpool").pins.at("volume/kept") == "1.0.0");
  REQUIRE(absl::IsNotFound(
      f.supervisor.Pin("flashpool", "volume/x", "9.0.0").status()));
  REQUIRE(absl::IsInvalidArgument(
      f.supervisor.Pin("flashpool", "vol-1", "1.0.0").status()));
  UpgradeOptions options;
  options.probation = absl::Seconds(1);
  const pid_t new_pid = f.CutOver(options);
  REQUIRE(f.routes[f.Call("volume/kept")]->pid == f.old_pid);
  REQUIRE(f.routes[f.Call("volume/other")]->pid == new_pid);
  f.clock.Advance(absl::Seconds(1));
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->upgrade.empty());  // committed
  REQUIRE(status->package->manifest.version.ToString() == "2.0.0");
  REQUIRE(f.launcher.children[f.old_pid].signals.empty());
  REQUIRE(status->instances.size() == 2);
  REQUIRE(status->instances[1].role == "pinned");
  f.End(0);
  const size_t kept = f.Call("volume/kept");
  REQUIRE(f.routes[kept]->pid == f.old_pid);
  auto where = f.supervisor.Where("flashpool", "volume/kept");
  REQUIRE(where->why == "pinned");
  REQUIRE(where->version == "1.0.0");
  // The pinned version cannot be removed, nor a third version started.
  REQUIRE(absl::IsFailedPrecondition(
      f.supervisor.RemoveVersion("flashpool", "1.0.0").status()));
  f.End(kept);
  f.End(2);

  REQUIRE(f.supervisor.Unpin("flashpool", "volume/kept").ok());
  f.supervisor.Step();
  REQUIRE(f.launcher.children[f.old_pid].signals == std::vector<int>{SIGTERM});
  REQUIRE(f.routes[f.Call("volume/kept")]->pid == new_pid);
  REQUIRE(f.store.saved.at("flashpool").pins.empty());
  REQUIRE(absl::IsNotFound(
      f.supervisor.Unpin("flashpool", "volume/kept").status()));
}

TEST_CASE(
    "pins are restored after a restart of the daemon, and a pin to a "
    "version no longer installed is dropped and reported",
    "[core][pin]") {
  FakeStore store;
  store.saved["flashpool"].pins = {{"volume/a", "1.0.0"},
                                   {"volume/b", "7.0.0"}};
  Fixture f;
  f.supervisor.SetStore(&store);
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  f.supervisor.RestoreDesiredState(*store.Load());
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->pins ==
          std::map<std::string, std::string>{{"volume/a", "1.0.0"}});
  REQUIRE(f.events.Since(0).back().reason.find(
              "the pin of volume/b to 7.0.0 was dropped") != std::string::npos);
}

TEST_CASE(
    "a canary's plan, step, pause and options are saved as it goes, so a "
    "restart of pitstopd can go on from them, and cleared at the cut-over",
    "[core][canary]") {
  CanaryFixture f;
  f.Calls("1.0.0", 0, 0);
  f.Calls("2.0.0", 0, 0);
  CanaryPlan plan = TenFiftyHundred();
  plan.named = {"volume/named"};
  f.Begin(plan);
  const DesiredDriverState* saved = &f.store.saved.at("flashpool");
  REQUIRE(saved->active_version == "1.0.0");
  REQUIRE(saved->upgrading_to == "2.0.0");
  REQUIRE(saved->canary.has_value());
  REQUIRE(saved->canary->step == 0);
  REQUIRE(saved->canary->plan.steps == plan.steps);
  REQUIRE(saved->canary->plan.named == plan.named);
  REQUIRE(saved->canary->probation > absl::ZeroDuration());
  REQUIRE(MayResumeCanary(*saved));

  REQUIRE(
      f.supervisor.ControlCanary("flashpool", Supervisor::CanaryAction::kPause)
          .ok());
  f.supervisor.Step();
  REQUIRE(f.store.saved.at("flashpool").canary->paused);
  REQUIRE(
      f.supervisor.ControlCanary("flashpool", Supervisor::CanaryAction::kResume)
          .ok());
  f.Calls("1.0.0", 900, 0);
  f.Calls("2.0.0", 100, 0);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  saved = &f.store.saved.at("flashpool");
  REQUIRE(!saved->canary->paused);
  REQUIRE(saved->canary->step == 1);

  REQUIRE(f.supervisor
              .ControlCanary("flashpool", Supervisor::CanaryAction::kPromote)
              .ok());
  f.supervisor.Step();
  f.supervisor.Step();
  saved = &f.store.saved.at("flashpool");
  REQUIRE(saved->upgrading_to == "2.0.0");  // on probation
  REQUIRE(!saved->canary.has_value());
}

}  // namespace
}  // namespace pitstop
