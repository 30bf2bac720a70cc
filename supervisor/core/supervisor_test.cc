#include "supervisor/core/supervisor.h"

#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include "supervisor/common/clock.h"
#include "supervisor/core/supervisor_test_fixture.h"

namespace pitstop {
namespace {

TEST_CASE("a started driver becomes READY once its probe says so", "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  REQUIRE(f.State("flashpool") == DriverState::kStopped);
  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.Step();
  REQUIRE(f.State("flashpool") == DriverState::kStarting);
  REQUIRE(f.launcher.children.size() == 1);
  const LaunchSpec& spec = f.launcher.children.begin()->second.spec;
  REQUIRE(spec.executable == "/opt/drivers/flashpool/bin/flashpool");
  REQUIRE(std::find(spec.env.begin(), spec.env.end(),
                    "PITSTOP_SOCKET=" + f.endpoints.sockets[0]) !=
          spec.env.end());
  REQUIRE(f.endpoints.sockets[0].find("/run/flashpool/1/driver.sock") !=
          std::string::npos);

  f.supervisor.Step();
  REQUIRE(f.endpoints.pending.size() == 1);
  f.endpoints.Answer(false, "warming up");
  REQUIRE(f.State("flashpool") == DriverState::kStarting);
  f.clock.Advance(absl::Milliseconds(20));
  f.supervisor.Step();
  f.endpoints.Answer(true);
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kReady);
  REQUIRE(status->pid == f.launcher.last_pid);
  REQUIRE(f.supervisor.Start("flashpool").code() ==
          absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a driver that dies is restarted at once, then after a backoff",
          "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  pid_t first = f.launcher.last_pid;
  f.launcher.Exit(first, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->restarts == 1);
  REQUIRE(status->last_exit == "killed by signal 9 (Killed)");
  REQUIRE(f.launcher.children.size() == 2);  // restarted in the same pass
  REQUIRE(status->state == DriverState::kStarting);

  // A second exit soon after backs off.
  f.supervisor.Step();
  f.endpoints.Answer(true);
  f.launcher.Exit(f.launcher.last_pid, ExitInfo{1, 0});
  f.supervisor.Step();
  status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kBackoff);
  REQUIRE(status->message.find("restarting in 100ms") != std::string::npos);
  f.supervisor.Step();
  REQUIRE(f.launcher.children.size() == 2);  // still waiting
  f.clock.Advance(absl::Milliseconds(100));
  f.supervisor.Step();
  REQUIRE(f.launcher.children.size() == 3);
  REQUIRE(f.State("flashpool") == DriverState::kStarting);
}

TEST_CASE("a driver that keeps dying ends FAILED until restarted", "[core]") {
  FakeClock clock;
  FakeLauncher launcher;
  FakeEndpoints endpoints;
  SupervisorOptions options = Options();
  options.restart.max_restarts = 2;
  EventLog events(clock);
  FakeInstanceFiles files;
  Supervisor supervisor(launcher, endpoints, files, clock, events, options);
  REQUIRE(supervisor.AddDriver(Package("flashpool")).ok());
  REQUIRE(supervisor.Start("flashpool").ok());
  for (int i = 0; i < 3; ++i) {
    supervisor.Step();
    launcher.Exit(launcher.last_pid, ExitInfo{1, 0});
    supervisor.Step();
    clock.Advance(absl::Seconds(1));
  }
  auto status = supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kFailed);
  REQUIRE(status->message.find("gave up after 3 exits") != std::string::npos);
  REQUIRE(status->message.find("pitstop restart flashpool") !=
          std::string::npos);
  size_t launches = launcher.children.size();
  clock.Advance(absl::Seconds(60));
  supervisor.Step();
  REQUIRE(launcher.children.size() == launches);
  // Every transition was recorded with its reason.
  auto history = events.Since(0, "flashpool");
  REQUIRE(history.front().kind == "installed");
  REQUIRE(history.back().kind == "state");
  REQUIRE(history.back().to == DriverState::kFailed);
  REQUIRE(history.back().reason.find("exited with status 1") !=
          std::string::npos);
  // Reset revives a FAILED driver, and only a FAILED one.
  REQUIRE(supervisor.Reset("flashpool").ok());
  REQUIRE(supervisor.Reset("flashpool").code() ==
          absl::StatusCode::kFailedPrecondition);
  supervisor.Step();
  REQUIRE(launcher.children.size() == launches + 1);
  REQUIRE(supervisor.Get("flashpool")->restarts == 0);
  launcher.Exit(launcher.last_pid, ExitInfo{1, 0});
  supervisor.Step();
  launcher.Exit(launcher.last_pid, ExitInfo{1, 0});
  supervisor.Step();
  clock.Advance(absl::Seconds(1));
  supervisor.Step();
  launcher.Exit(launcher.last_pid, ExitInfo{1, 0});
  supervisor.Step();
  REQUIRE(supervisor.Get("flashpool")->state == DriverState::kFailed);
  launches = launcher.children.size();
  REQUIRE(supervisor.Restart("flashpool").ok());
  supervisor.Step();
  REQUIRE(launcher.children.size() == launches + 1);
  REQUIRE(supervisor.Get("flashpool")->restarts == 0);
}

TEST_CASE("stop sends SIGTERM, then SIGKILL after the stop timeout", "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  pid_t pid = f.launcher.last_pid;
  REQUIRE(f.supervisor.Stop("flashpool").ok());
  f.supervisor.Step();
  REQUIRE(f.State("flashpool") == DriverState::kStopping);
  REQUIRE(f.launcher.children[pid].signals == std::vector<int>{SIGTERM});
  f.clock.Advance(absl::Seconds(5));
  f.supervisor.Step();
  REQUIRE(f.launcher.children[pid].signals ==
          std::vector<int>{SIGTERM, SIGKILL});
  f.launcher.Exit(pid, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  REQUIRE(f.State("flashpool") == DriverState::kStopped);
  f.clock.Advance(absl::Seconds(60));
  f.supervisor.Step();
  REQUIRE(f.launcher.Running() == 0);  // stays stopped
}

TEST_CASE("a driver that never becomes ready is killed at its start timeout",
          "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.Step();
  for (int i = 0; i < 10; ++i) {
    f.supervisor.Step();
    f.endpoints.Answer(false, "loading firmware");
    f.clock.Advance(absl::Seconds(1));
  }
  f.supervisor.Step();
  pid_t pid = f.launcher.last_pid;
  REQUIRE(f.launcher.children[pid].signals == std::vector<int>{SIGKILL});
  f.launcher.Exit(pid, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kStarting);  // a new instance
  REQUIRE(f.launcher.last_pid != pid);
  REQUIRE(status->restarts == 1);
  REQUIRE(status->last_exit.find("did not become ready within 10s") !=
          std::string::npos);
  REQUIRE(status->last_exit.find("loading firmware") != std::string::npos);
}

TEST_CASE("a forced restart stops the process, then starts a new one",
          "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  pid_t first = f.launcher.last_pid;
  REQUIRE(f.supervisor.Restart("flashpool", /*force=*/true).ok());
  f.supervisor.Step();
  REQUIRE(f.launcher.children[first].signals == std::vector<int>{SIGTERM});
  f.launcher.Exit(first, ExitInfo{0, 0});
  f.supervisor.Step();
  REQUIRE(f.launcher.last_pid != first);
  REQUIRE(f.State("flashpool") == DriverState::kStarting);
  REQUIRE(f.supervisor.Get("flashpool")->restarts == 0);
}

TEST_CASE(
    "a call of another category is refused at once, while the driver is "
    "still STARTING",
    "[core]") {
  Fixture f;
  DriverPackage p = Package("flashpool");
  p.manifest.resource_types = {"volume"};
  REQUIRE(f.supervisor.AddDriver(std::move(p)).ok());
  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.Step();
  f.supervisor.Step();
  REQUIRE(f.State("flashpool") == DriverState::kStarting);
  std::vector<absl::StatusOr<Route>> results;
  auto collect = [&](absl::StatusOr<Route> r) { results.push_back(r); };

  RouteRequest network = Req("flashpool", "", f.clock.Now() + absl::Seconds(5));
  network.category = DriverCategory::kNetwork;
  f.supervisor.AcquireRoute(network, collect);
  REQUIRE(results.size() == 1);
  REQUIRE(results[0].status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(results[0].status().message().find("StorageService") !=
          std::string::npos);

  RouteRequest bucket =
      Req("flashpool", "bucket/b1", f.clock.Now() + absl::Seconds(5));
  bucket.resource_type = "bucket";
  f.supervisor.AcquireRoute(bucket, collect);
  REQUIRE(results.size() == 2);
  REQUIRE(results[1].status().code() == absl::StatusCode::kInvalidArgument);

  // A call that fits still waits for READY.
  RouteRequest volume =
      Req("flashpool", "volume/v1", f.clock.Now() + absl::Seconds(5));
  volume.resource_type = "volume";
  f.supervisor.AcquireRoute(volume, collect);
  REQUIRE(results.size() == 2);
  f.endpoints.Answer(true);
  f.supervisor.Step();
  REQUIRE(results.size() == 3);
  REQUIRE(results[2].ok());
}

TEST_CASE("route requests wait for READY, and fail clearly otherwise",
          "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  std::vector<absl::StatusOr<Route>> results;
  auto collect = [&](absl::StatusOr<Route> r) { results.push_back(r); };

  f.supervisor.AcquireRoute(Req("nosuch", "", f.clock.Now() + absl::Seconds(1)),
                            collect);
  REQUIRE(results.back().status().code() == absl::StatusCode::kNotFound);
  REQUIRE(results.back().status().message().find("installed: flashpool") !=
          std::string::npos);

  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(1)), collect);
  REQUIRE(results.back().status().code() ==
          absl::StatusCode::kFailedPrecondition);

  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(5)), collect);
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(1)), collect);
  REQUIRE(results.size() == 2);  // both parked
  f.supervisor.Step();
  f.supervisor.Step();
  f.clock.Advance(absl::Seconds(1));
  f.supervisor.Step();
  REQUIRE(results.size() == 3);
  REQUIRE(results.back().status().code() ==
          absl::StatusCode::kDeadlineExceeded);
  f.endpoints.Answer(true);
  f.supervisor.Step();
  REQUIRE(results.size() == 4);
  REQUIRE(results.back().ok());
  REQUIRE(results.back()->pid == f.launcher.last_pid);

  // An instance that refused a connection is avoided until it is replaced.
  uint64_t old_instance = results.back()->instance_id;
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(5), old_instance),
      collect);
  REQUIRE(results.size() == 4);
  f.launcher.Exit(f.launcher.last_pid, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  f.clock.Advance(absl::Milliseconds(100));
  f.supervisor.Step();
  f.supervisor.Step();
  f.endpoints.Answer(true);
  f.supervisor.Step();
  REQUIRE(results.size() == 5);
  REQUIRE(results.back().ok());
  REQUIRE(results.back()->instance_id != old_instance);
}

TEST_CASE("a driver waits for the drivers it requires to be READY", "[core]") {
  Fixture f;
  REQUIRE(f.supervisor
              .AddDriver(Package("flashpool", DriverCategory::kStorage,
                                 {"iscsi-base"}))
              .ok());
  REQUIRE(f.supervisor.AddDriver(Package("iscsi-base")).ok());
  REQUIRE(
      f.supervisor.AddDriver(Package("nvp", DriverCategory::kNetwork)).ok());
  REQUIRE(f.supervisor.StartOrder() ==
          std::vector<std::string>{"nvp", "iscsi-base", "flashpool"});
  auto details = f.supervisor.StartOrderDetails();
  REQUIRE(details[2].name == "flashpool");
  REQUIRE(details[2].level == 1);
  REQUIRE(details[2].reason ==
          "storage level, after every network driver; after iscsi-base "
          "(requires)");
  REQUIRE(details[0].reason == "network level; requires nothing");
  REQUIRE(f.supervisor.Start("flashpool").ok());
  REQUIRE(f.supervisor.Start("iscsi-base").ok());
  f.supervisor.Step();
  REQUIRE(f.State("flashpool") == DriverState::kStopped);
  REQUIRE(f.supervisor.Get("flashpool")->message.find("iscsi-base") !=
          std::string::npos);
  f.supervisor.Step();
  f.endpoints.Answer(true);
  f.supervisor.Step();
  REQUIRE(f.State("flashpool") == DriverState::kStarting);
}

TEST_CASE("a driver whose executable cannot start is retried", "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.launcher.fail_next = true;
  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.Step();
  REQUIRE(f.launcher.children.empty());
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kStarting);
  REQUIRE(f.launcher.children.size() == 1);
  REQUIRE(status->restarts == 1);
  REQUIRE(status->last_exit.find("cannot start /opt/drivers/flashpool") !=
          std::string::npos);
}

TEST_CASE(
    "a serving driver whose probe keeps failing is DEGRADED, recovers "
    "or is replaced",
    "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  const pid_t pid = f.launcher.last_pid;
  auto fail_probe = [&] {
    f.clock.Advance(absl::Seconds(1));
    f.supervisor.Step();
    REQUIRE(f.endpoints.pending.size() == 1);
    auto done = std::move(f.endpoints.pending[0]);
    f.endpoints.pending.clear();
    done(absl::DeadlineExceededError("probe timed out"));
  };
  fail_probe();
  fail_probe();
  REQUIRE(f.State("flashpool") == DriverState::kReady);
  fail_probe();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kDegraded);
  REQUIRE(status->message.find("3 probes failed in a row (probe timed out)") !=
          std::string::npos);
  // No new call is routed to it meanwhile.
  std::vector<absl::StatusOr<Route>> routes;
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(30)),
      [&](absl::StatusOr<Route> r) { routes.push_back(r); });
  REQUIRE(routes.empty());
  // A good answer brings it back.
  f.clock.Advance(absl::Seconds(1));
  f.supervisor.Step();
  f.endpoints.Answer(true);
  REQUIRE(f.State("flashpool") == DriverState::kReady);
  f.supervisor.Step();
  REQUIRE(routes.size() == 1);
  REQUIRE(routes[0].ok());
  // Failing again past the grace period: killed and replaced.
  fail_probe();
  fail_probe();
  fail_probe();
  REQUIRE(f.State("flashpool") == DriverState::kDegraded);
  for (int i = 0; i < 4; ++i) fail_probe();
  REQUIRE(f.launcher.children[pid].signals.empty());
  f.clock.Advance(absl::Seconds(1));  // 5 s DEGRADED: the grace is over
  f.supervisor.Step();
  REQUIRE(f.launcher.children[pid].signals == std::vector<int>{SIGKILL});
  f.launcher.Exit(pid, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  status = f.supervisor.Get("flashpool");
  REQUIRE(status->last_exit.find("stopped answering its probe") !=
          std::string::npos);
  REQUIRE(f.launcher.last_pid != pid);
}

TEST_CASE(
    "a graceful restart starts the new instance first, cuts over, "
    "then drains and stops the old one",
    "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  const pid_t old_pid = f.launcher.last_pid;
  // A call in flight on the old instance.
  std::vector<absl::StatusOr<Route>> routes;
  auto collect = [&](absl::StatusOr<Route> r) { routes.push_back(r); };
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(5)), collect);
  REQUIRE(routes.size() == 1);
  REQUIRE(routes[0]->pid == old_pid);

  REQUIRE(f.supervisor.Restart("flashpool").ok());
  f.supervisor.Step();
  const pid_t new_pid = f.launcher.last_pid;
  REQUIRE(new_pid != old_pid);
  REQUIRE(f.launcher.children[old_pid].signals.empty());
  // The old instance still takes calls until the new one is READY.
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(5)), collect);
  REQUIRE(routes.back()->pid == old_pid);
  f.supervisor.Step();
  f.endpoints.Answer(true);  // the successor's probe
  f.supervisor.Step();       // cut over
  f.supervisor.AcquireRoute(
      Req("flashpool", "", f.clock.Now() + absl::Seconds(5)), collect);
  REQUIRE(routes.back()->pid == new_pid);
  REQUIRE(f.supervisor.Get("flashpool")->state == DriverState::kReady);
  REQUIRE(f.supervisor.Get("flashpool")->pid == new_pid);
  // Two calls still hold the old instance: it drains.
  f.supervisor.Step();
  REQUIRE(f.launcher.children[old_pid].signals.empty());
  routes[0] = absl::CancelledError("done");
  routes[1] = absl::CancelledError("done");
  f.supervisor.Step();
  REQUIRE(f.launcher.children[old_pid].signals == std::vector<int>{SIGTERM});
  f.launcher.Exit(old_pid, ExitInfo{0, 0});
  f.supervisor.Step();
  REQUIRE(f.launcher.Running() == 1);
  REQUIRE(f.supervisor.Get("flashpool")->restarts == 0);
}

TEST_CASE("a graceful restart whose new instance fails keeps the old one",
          "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  const pid_t old_pid = f.launcher.last_pid;
  REQUIRE(f.supervisor.Restart("flashpool").ok());
  f.supervisor.Step();
  f.launcher.Exit(f.launcher.last_pid, ExitInfo{2, 0});
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kReady);
  REQUIRE(status->pid == old_pid);
  REQUIRE(status->message.find("graceful restart failed: the new instance "
                               "exited with status 2") != std::string::npos);
  REQUIRE(f.launcher.children[old_pid].signals.empty());
}

TEST_CASE("a driver's own restart policy applies only where it is stricter",
          "[core]") {
  RestartPolicyOptions daemon;
  daemon.max_restarts = 10;
  daemon.window = absl::Seconds(60);
  daemon.max_backoff = absl::Seconds(30);
  DriverRestartPolicy strict{3, absl::Seconds(120), absl::Milliseconds(10),
                             absl::Seconds(5)};
  RestartPolicyOptions out = EffectiveRestartPolicy(daemon, strict);
  REQUIRE(out.max_restarts == 3);
  REQUIRE(out.window == absl::Seconds(120));
  REQUIRE(out.initial_backoff == absl::Milliseconds(10));
  REQUIRE(out.max_backoff == absl::Seconds(5));
  DriverRestartPolicy loose{50, absl::Seconds(1), std::nullopt,
                            absl::Minutes(10)};
  out = EffectiveRestartPolicy(daemon, loose);
  REQUIRE(out.max_restarts == 10);
  REQUIRE(out.window == absl::Seconds(60));
  REQUIRE(out.max_backoff == absl::Seconds(30));
}

// A store on a full filesystem.
class FullStore final : public DesiredStateStore {
 public:
  absl::StatusOr<std::map<std::string, DesiredDriverState>> Load() override {
    return std::map<std::string, DesiredDriverState>{};
  }
  absl::Status Save(const std::string&, const DesiredDriverState&) override {
    return absl::InternalError("database or disk is full");
  }
};

TEST_CASE(
    "an operator action whose intent cannot be saved fails with the reason "
    "and changes nothing",
    "[core]") {
  FullStore store;
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  f.StartReady("flashpool");
  f.supervisor.SetStore(&store);  // the filesystem fills up
  const absl::Status stop = f.supervisor.Stop("flashpool");
  REQUIRE(stop.code() == absl::StatusCode::kUnavailable);
  REQUIRE(stop.message().find("database or disk is full") != std::string::npos);
  REQUIRE(stop.message().find("nothing was changed") != std::string::npos);
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->state == DriverState::kReady);
  REQUIRE(f.supervisor.Restart("flashpool").code() ==
          absl::StatusCode::kUnavailable);
}

TEST_CASE("operator intent and FAILED marks are saved and restored", "[core]") {
  FakeStore store;
  {
    Fixture f;
    f.supervisor.SetStore(&store);
    REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
    REQUIRE(f.supervisor.AddDriver(Package("iscsi-base")).ok());
    f.StartReady("flashpool");
    REQUIRE(f.supervisor.Stop("flashpool").ok());
    f.supervisor.Step();
    REQUIRE(!store.saved.at("flashpool").enabled);
  }
  DesiredDriverState saved_failed;
  saved_failed.failed = true;
  saved_failed.failed_reason = "exited with status 3";
  store.saved["iscsi-base"] = saved_failed;
  Fixture f;
  f.supervisor.SetStore(&store);
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  REQUIRE(f.supervisor.AddDriver(Package("iscsi-base")).ok());
  f.supervisor.RestoreDesiredState(*store.Load());
  auto failed = f.supervisor.Get("iscsi-base");
  REQUIRE(failed->state == DriverState::kFailed);
  REQUIRE(failed->message.find("exited with status 3") != std::string::npos);
  REQUIRE(failed->message.find("pitstop reset iscsi-base") !=
          std::string::npos);
  // Starting everything leaves the stopped and the FAILED driver alone
  // (StartAll would wait for them; the reconcile pass shows the same).
  f.supervisor.Step();
  REQUIRE(f.launcher.children.empty());
  REQUIRE(f.supervisor.Reset("iscsi-base").ok());
  f.supervisor.Step();
  REQUIRE(f.launcher.children.size() == 1);
  REQUIRE(store.saved.at("iscsi-base").enabled);
  REQUIRE(!store.saved.at("iscsi-base").failed);
}

TEST_CASE(
    "an upgrade runs both versions, moves each resource once its calls on the "
    "old version end, and commits after the probation",
    "[core][upgrade]") {
  UpgradeFixture f;
  const size_t busy = f.Call("volume/a");
  REQUIRE(f.routes[busy]->pid == f.old_pid);
  // New work keeps going to 1.0.0 until 2.0.0 is READY.
  const pid_t new_pid = f.CutOver();
  auto during = f.supervisor.Get("flashpool");
  REQUIRE(during->package->manifest.version.ToString() == "2.0.0");
  REQUIRE(during->instances.size() == 2);
  REQUIRE(during->instances[1].role == "draining");
  REQUIRE(!during->upgrade.empty());

  // A resource busy on 1.0.0 waits; others and resource-less calls go to
  // 2.0.0 at once.
  const size_t same = f.Call("volume/a");
  REQUIRE(f.Waiting(same));
  const size_t other = f.Call("volume/b");
  REQUIRE(f.routes[other]->pid == new_pid);
  REQUIRE(f.routes[other]->package->manifest.version.ToString() == "2.0.0");
  const size_t none = f.Call("");
  REQUIRE(f.routes[none]->pid == new_pid);

  // volume/a's call on 1.0.0 ends: the waiting call goes to 2.0.0.
  f.End(busy);
  f.supervisor.Step();
  REQUIRE(f.routes[same]->pid == new_pid);
  // 1.0.0 is drained but kept until the upgrade commits.
  REQUIRE(f.launcher.children[f.old_pid].signals.empty());
  REQUIRE(f.supervisor.Get("flashpool")->instances[1].role == "standby");
  REQUIRE(f.store.saved.at("flashpool").active_version == "1.0.0");
  REQUIRE(f.store.saved.at("flashpool").upgrading_to == "2.0.0");

  f.clock.Advance(absl::Seconds(10));  // the default probation
  f.supervisor.Step();
  REQUIRE(f.launcher.children[f.old_pid].signals == std::vector<int>{SIGTERM});
  f.launcher.Exit(f.old_pid, ExitInfo{0, 0});
  f.supervisor.Step();
  auto after = f.supervisor.Get("flashpool");
  REQUIRE(after->instances.size() == 1);
  REQUIRE(after->pid == new_pid);
  REQUIRE(after->previous_version == "1.0.0");
  REQUIRE(after->upgrade.empty());
  REQUIRE(f.store.saved.at("flashpool").active_version == "2.0.0");
  REQUIRE(f.store.saved.at("flashpool").previous_version == "1.0.0");
  REQUIRE(f.store.saved.at("flashpool").upgrading_to.empty());
  REQUIRE(UpgradeEventKinds(f.events) ==
          std::vector<std::string>{
              "upgrade-started", "upgrade-ready", "upgrade-cut-over",
              "upgrade-resource-drained", "upgrade-drained",
              "upgrade-committed", "upgrade-old-stopped"});
}

TEST_CASE(
    "a new version that crashes during its probation is rolled back and the "
    "old one serves again",
    "[core][upgrade]") {
  UpgradeFixture f;
  const pid_t new_pid = f.CutOver();
  const size_t on_new = f.Call("volume/a");
  REQUIRE(f.routes[on_new]->pid == new_pid);
  f.launcher.Exit(new_pid, ExitInfo{0, SIGSEGV});
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kReady);
  REQUIRE(status->pid == f.old_pid);
  REQUIRE(status->package->manifest.version.ToString() == "1.0.0");
  REQUIRE(status->message.find("upgrade to 2.0.0 rolled back: the new version "
                               "crashed during its probation (killed by "
                               "signal 11") != std::string::npos);
  // The old instance takes the work again, also the resource last on 2.0.0.
  f.End(on_new);
  const size_t again = f.Call("volume/a");
  REQUIRE(f.routes[again]->pid == f.old_pid);
  REQUIRE(f.launcher.children[f.old_pid].signals.empty());
  REQUIRE(f.store.saved.at("flashpool").active_version == "1.0.0");
  REQUIRE(f.store.saved.at("flashpool").upgrading_to.empty());
  REQUIRE(UpgradeEventKinds(f.events).back() == "upgrade-rolled-back");
  // Nothing to roll back to: it was never committed.
  REQUIRE(
      absl::IsFailedPrecondition(f.supervisor.Rollback("flashpool").status()));
}

TEST_CASE(
    "a new version that fails its probes during probation is rolled "
    "back, and its busy resources wait for it",
    "[core][upgrade]") {
  UpgradeFixture f;
  const pid_t new_pid = f.CutOver();
  const size_t on_new = f.Call("volume/a");
  REQUIRE(f.routes[on_new]->pid == new_pid);
  // Health probes of 2.0.0 fail three times in a row: DEGRADED.
  for (int i = 0; i < 3; ++i) {
    f.clock.Advance(absl::Seconds(1));
    f.supervisor.Step();
    f.endpoints.Answer(false, "database locked");
  }
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->pid == f.old_pid);
  REQUIRE(status->message.find("failed its probes during its probation "
                               "(database locked)") != std::string::npos);
  // volume/a still runs on 2.0.0: it waits; volume/b goes to 1.0.0.
  const size_t same = f.Call("volume/a");
  REQUIRE(f.Waiting(same));
  REQUIRE(f.routes[f.Call("volume/b")]->pid == f.old_pid);
  f.End(on_new);
  f.supervisor.Step();
  REQUIRE(f.routes[same]->pid == f.old_pid);
  // The failed instance is stopped once drained.
  REQUIRE(f.launcher.children[new_pid].signals == std::vector<int>{SIGTERM});
}

TEST_CASE("an operator rollback during the probation gives the work back",
          "[core][upgrade]") {
  UpgradeFixture f;
  const pid_t new_pid = f.CutOver();
  REQUIRE(f.supervisor.Rollback("flashpool").ok());
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->pid == f.old_pid);
  REQUIRE(status->message.find("was rolled back by an operator") !=
          std::string::npos);
  REQUIRE(f.launcher.children[new_pid].signals == std::vector<int>{SIGTERM});
}

TEST_CASE(
    "a committed upgrade is rolled back to the previous version by "
    "the same mechanism",
    "[core][upgrade]") {
  UpgradeFixture f;
  const pid_t v2 = f.CutOver();
  f.clock.Advance(absl::Seconds(10));
  f.supervisor.Step();
  f.launcher.Exit(f.old_pid, ExitInfo{0, 0});
  f.supervisor.Step();
  REQUIRE(f.supervisor.Rollback("flashpool").ok());
  f.supervisor.Step();
  const pid_t v1 = f.launcher.last_pid;
  REQUIRE(v1 != v2);
  REQUIRE(f.launcher.children[v1].spec.executable ==
          "/opt/drivers/flashpool/1.0.0/bin/flashpool");
  f.supervisor.Step();
  f.endpoints.Answer(true);
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->pid == v1);
  f.clock.Advance(absl::Seconds(10));
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->previous_version == "2.0.0");
  REQUIRE(f.store.saved.at("flashpool").active_version == "1.0.0");
}

TEST_CASE(
    "when the old version dies before the new one is ready, the new one "
    "takes over on probation",
    "[core][upgrade]") {
  UpgradeFixture f;
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0").ok());
  f.supervisor.Step();  // launch 2.0.0
  const pid_t new_pid = f.launcher.last_pid;
  f.launcher.Exit(f.old_pid, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  f.endpoints.Answer(true);
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kReady);
  REQUIRE(status->pid == new_pid);
  REQUIRE(status->package->manifest.version.ToString() == "2.0.0");
  REQUIRE(!status->upgrade.empty());
  f.clock.Advance(absl::Seconds(10));
  f.supervisor.Step();
  REQUIRE(f.supervisor.Get("flashpool")->upgrade.empty());
  REQUIRE(f.store.saved.at("flashpool").active_version == "2.0.0");
}

TEST_CASE(
    "upgrades are refused while one runs, to versions not installed, "
    "and when requirements would break",
    "[core][upgrade]") {
  UpgradeFixture f;
  auto missing = f.supervisor.Upgrade("flashpool", "3.0.0");
  REQUIRE(absl::IsNotFound(missing.status()));
  REQUIRE(missing.status().message().find("installed: 1.0.0, 2.0.0") !=
          std::string::npos);
  REQUIRE(absl::IsFailedPrecondition(
      f.supervisor.Upgrade("flashpool", "1.0.0").status()));
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0").ok());
  auto second = f.supervisor.Upgrade("flashpool", "2.0.0");
  REQUIRE(absl::IsFailedPrecondition(second.status()));
  REQUIRE(second.status().message().find("already being upgraded") !=
          std::string::npos);
  REQUIRE(absl::IsFailedPrecondition(f.supervisor.Restart("flashpool")));

  Fixture g;
  REQUIRE(g.supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  REQUIRE(g.supervisor.AddDriver(Version("flashpool", "2.0.0")).ok());
  DriverPackage user = Package("proxkvm", DriverCategory::kHypervisor);
  user.manifest.requires_.push_back(
      {"flashpool", VersionRange::Parse(">=1.0.0 <2.0.0").value()});
  REQUIRE(g.supervisor.AddDriver(user).ok());
  auto blocked = g.supervisor.Upgrade("flashpool", "2.0.0");
  REQUIRE(absl::IsFailedPrecondition(blocked.status()));
  REQUIRE(blocked.status().message() ==
          "proxkvm requires flashpool >=1.0.0 <2.0.0, which 2.0.0 does not "
          "satisfy; upgrade proxkvm first");
}

TEST_CASE("a stopped driver switches version without running both",
          "[core][upgrade]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "2.0.0")).ok());
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0").ok());
  REQUIRE(f.supervisor.Get("flashpool")->package->manifest.version.ToString() ==
          "2.0.0");
  REQUIRE(f.launcher.children.empty());
  f.StartReady("flashpool");
  REQUIRE(f.launcher.children[f.launcher.last_pid].spec.executable ==
          "/opt/drivers/flashpool/2.0.0/bin/flashpool");
}

TEST_CASE(
    "after a daemon restart the saved active version runs, and an "
    "interrupted upgrade is reported, not resumed",
    "[core][upgrade]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "2.0.0")).ok());
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "3.0.0")).ok());
  DesiredDriverState saved;
  saved.active_version = "2.0.0";
  saved.previous_version = "1.0.0";
  saved.upgrading_to = "3.0.0";
  f.supervisor.RestoreDesiredState({{"flashpool", saved}});
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->package->manifest.version.ToString() == "2.0.0");
  REQUIRE(status->previous_version == "1.0.0");
  REQUIRE(UpgradeEventKinds(f.events) ==
          std::vector<std::string>{"upgrade-rolled-back"});

  Fixture g;  // nothing saved: the highest installed version
  REQUIRE(g.supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  REQUIRE(g.supervisor.AddDriver(Version("flashpool", "1.5.0")).ok());
  g.supervisor.RestoreDesiredState({});
  REQUIRE(g.supervisor.Get("flashpool")->package->manifest.version.ToString() ==
          "1.5.0");
}

TEST_CASE("an inactive version can be removed, the active one cannot",
          "[core][upgrade]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  REQUIRE(f.supervisor.AddDriver(Version("flashpool", "2.0.0")).ok());
  REQUIRE(absl::IsAlreadyExists(
      f.supervisor.AddDriver(Version("flashpool", "2.0.0"))));
  REQUIRE(absl::IsFailedPrecondition(
      f.supervisor.RemoveVersion("flashpool", "1.0.0").status()));
  auto removed = f.supervisor.RemoveVersion("flashpool", "2.0.0");
  REQUIRE(removed.ok());
  REQUIRE((*removed)->install_dir == "/opt/drivers/flashpool/2.0.0");
  REQUIRE(f.supervisor.Get("flashpool")->installed_versions ==
          std::vector<std::string>{"1.0.0"});
}

TEST_CASE(
    "calls still running on the old version at the drain timeout are "
    "cancelled and reported",
    "[core][upgrade]") {
  UpgradeFixture f;
  const size_t stuck = f.Call("volume/a");
  int cancelled = 0;
  f.routes[stuck]->lease->SetCancel([&] { ++cancelled; });
  UpgradeOptions options;
  options.drain_timeout = absl::Seconds(3);
  f.CutOver(options);
  f.clock.Advance(absl::Seconds(3));
  f.supervisor.Step();
  REQUIRE(cancelled == 1);
  bool reported = false;
  for (const DriverEvent& e : f.events.Since(0)) {
    reported |= e.kind == "drain-timeout" &&
                e.reason.find("1 calls still running on version 1.0.0") == 0;
  }
  REQUIRE(reported);
  // The old process may still be working on volume/a: it is stopped, and
  // volume/a waits until it has exited.
  REQUIRE(f.launcher.children[f.old_pid].signals == std::vector<int>{SIGTERM});
  f.End(stuck);  // the router saw CANCELLED
  const size_t next = f.Call("volume/a");
  f.supervisor.Step();
  REQUIRE(f.Waiting(next));
  REQUIRE(f.routes[f.Call("volume/b")]->pid != f.old_pid);
  f.launcher.Exit(f.old_pid, ExitInfo{0, 0});
  f.supervisor.Step();
  REQUIRE(!f.Waiting(next));
  REQUIRE(f.routes[next]->pid != f.old_pid);
}

TEST_CASE(
    "an operator rollback while the new version starts never cuts over "
    "to it, even when its probe answers in the same pass",
    "[core][upgrade]") {
  UpgradeFixture f;
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0").ok());
  f.supervisor.Step();  // launch 2.0.0
  const pid_t new_pid = f.launcher.last_pid;
  f.supervisor.Step();  // probe it
  REQUIRE(f.supervisor.Rollback("flashpool").ok());
  f.endpoints.Answer(true);
  f.supervisor.Step();
  REQUIRE(f.launcher.children[new_pid].signals == std::vector<int>{SIGKILL});
  REQUIRE(f.supervisor.Get("flashpool")->pid == f.old_pid);
  f.launcher.Exit(new_pid, ExitInfo{0, SIGKILL});
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->upgrade.empty());
  REQUIRE(status->package->manifest.version.ToString() == "1.0.0");
  for (const std::string& step : UpgradeEventKinds(f.events)) {
    REQUIRE(step != "upgrade-cut-over");
  }
}

TEST_CASE(
    "an operator rollback before the new version is launched abandons "
    "the upgrade",
    "[core][upgrade]") {
  UpgradeFixture f;
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0").ok());
  REQUIRE(f.supervisor.Rollback("flashpool").ok());
  f.supervisor.Step();
  REQUIRE(f.launcher.last_pid == f.old_pid);  // nothing launched
  REQUIRE(f.supervisor.Get("flashpool")->upgrade.empty());
  REQUIRE(UpgradeEventKinds(f.events).back() == "upgrade-rolled-back");
}

TEST_CASE(
    "upgrading a DEGRADED driver cuts over to the healthy new version "
    "and stays there",
    "[core][upgrade]") {
  UpgradeFixture f;
  REQUIRE(f.supervisor.Upgrade("flashpool", "2.0.0").ok());
  f.supervisor.Step();  // launch 2.0.0
  const pid_t new_pid = f.launcher.last_pid;
  // The old instance's health probes fail meanwhile: DEGRADED.
  for (int i = 0; i < 3; ++i) {
    f.clock.Advance(absl::Seconds(1));
    f.supervisor.Step();
    f.endpoints.Answer(false, "hung");  // also the new one's start probe
  }
  REQUIRE(f.State("flashpool") == DriverState::kDegraded);
  f.clock.Advance(absl::Milliseconds(10));
  f.supervisor.Step();       // probe 2.0.0 again
  f.endpoints.Answer(true);  // 2.0.0 is ready
  f.supervisor.Step();
  f.supervisor.Step();
  auto status = f.supervisor.Get("flashpool");
  REQUIRE(status->state == DriverState::kReady);
  REQUIRE(status->pid == new_pid);
  REQUIRE(!status->upgrade.empty());  // on probation, not rolled back
}

TEST_CASE(
    "a driver stopped during the probation and started again does not "
    "keep the old instance waiting",
    "[core][upgrade]") {
  UpgradeFixture f;
  const pid_t new_pid = f.CutOver();
  REQUIRE(f.supervisor.Stop("flashpool").ok());
  f.supervisor.Step();
  REQUIRE(f.launcher.children[f.old_pid].signals == std::vector<int>{SIGTERM});
  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.Step();
  // The old instance ignores SIGTERM: it is killed after its stop timeout.
  f.clock.Advance(absl::Seconds(5));
  f.supervisor.Step();
  REQUIRE(f.launcher.children[f.old_pid].signals ==
          std::vector<int>{SIGTERM, SIGKILL});
  (void)new_pid;
}

TEST_CASE(
    "activating a version by an upgrade starts its restart budget afresh, "
    "the restart count goes on",
    "[core][upgrade]") {
  FakeClock clock;
  FakeLauncher launcher;
  FakeEndpoints endpoints;
  FakeInstanceFiles files;
  EventLog events(clock);
  SupervisorOptions options = Options();
  options.restart.max_restarts = 1;  // a second exit in the window gives up
  Supervisor supervisor(launcher, endpoints, files, clock, events, options);
  REQUIRE(supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
  REQUIRE(supervisor.AddDriver(Version("flashpool", "2.0.0")).ok());
  REQUIRE(supervisor.Start("flashpool").ok());
  supervisor.Step();
  supervisor.Step();
  endpoints.Answer(true);
  // 1.0.0 spends its budget: one exit, restarted at once.
  launcher.Exit(launcher.last_pid, ExitInfo{1, 0});
  supervisor.Step();
  supervisor.Step();
  endpoints.Answer(true);
  REQUIRE(supervisor.Get("flashpool")->state == DriverState::kReady);
  const pid_t old_pid = launcher.last_pid;

  UpgradeOptions upgrade;
  upgrade.probation = absl::Seconds(1);
  REQUIRE(supervisor.Upgrade("flashpool", "2.0.0", upgrade).ok());
  supervisor.Step();  // 2.0.0 starts beside 1.0.0
  const pid_t new_pid = launcher.last_pid;
  supervisor.Step();
  endpoints.Answer(true);
  supervisor.Step();  // cut over
  clock.Advance(absl::Seconds(1));
  supervisor.Step();  // committed; 1.0.0 stops
  launcher.Exit(old_pid, ExitInfo{0, 0});
  supervisor.Step();
  REQUIRE(supervisor.Get("flashpool")->upgrade.empty());

  // 2.0.0's first exit is within the window of 1.0.0's, but the budget is
  // its own: restarted, not FAILED.
  launcher.Exit(new_pid, ExitInfo{1, 0});
  supervisor.Step();
  auto status = supervisor.Get("flashpool");
  REQUIRE(status->state != DriverState::kFailed);
  REQUIRE(status->package->manifest.version.ToString() == "2.0.0");
  REQUIRE(status->restarts == 2);
}

}  // namespace
}  // namespace pitstop
