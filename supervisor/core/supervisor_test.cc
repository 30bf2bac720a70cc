#include "supervisor/core/supervisor.h"

#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include "supervisor/common/clock.h"

namespace pitstop {
namespace {

// Records launches and signals; the test decides when children exit.
class FakeLauncher final : public ProcessLauncher {
 public:
  struct Child {
    LaunchSpec spec;
    ExitHandler on_exit;
    std::vector<int> signals;
    bool exited = false;
  };

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec, OutputHandler,
                               ExitHandler on_exit) override {
    if (fail_next) {
      fail_next = false;
      return absl::NotFoundError("cannot start " + spec.executable);
    }
    pid_t pid = next_pid++;
    children[pid] = Child{spec, std::move(on_exit), {}, false};
    last_pid = pid;
    return pid;
  }
  absl::Status Signal(pid_t pid, int signal) override {
    auto it = children.find(pid);
    if (it == children.end() || it->second.exited) {
      return absl::NotFoundError("gone");
    }
    it->second.signals.push_back(signal);
    return absl::OkStatus();
  }
  void Exit(pid_t pid, ExitInfo info) {
    children[pid].exited = true;
    children[pid].on_exit(info);
  }
  size_t Running() const {
    size_t n = 0;
    for (const auto& [pid, c] : children) n += c.exited ? 0 : 1;
    return n;
  }

  std::map<pid_t, Child> children;
  pid_t next_pid = 100;
  pid_t last_pid = 0;
  bool fail_next = false;
};

// Holds probes until the test answers them.
class FakeEndpoints final : public DriverEndpointFactory {
 public:
  class Endpoint final : public DriverEndpoint {
   public:
    explicit Endpoint(FakeEndpoints& owner) : owner_(owner) {}
    void Probe(absl::Time,
               std::function<void(absl::StatusOr<ProbeResult>)> done) override {
      owner_.pending.push_back(std::move(done));
    }

   private:
    FakeEndpoints& owner_;
  };
  std::shared_ptr<DriverEndpoint> Connect(const std::string& path) override {
    sockets.push_back(path);
    return std::make_shared<Endpoint>(*this);
  }
  // Answers every pending probe.
  void Answer(bool ready, const std::string& message = "") {
    auto pending_now = std::move(pending);
    pending.clear();
    for (auto& done : pending_now) done(ProbeResult{ready, message});
  }

  std::vector<std::function<void(absl::StatusOr<ProbeResult>)>> pending;
  std::vector<std::string> sockets;
};

DriverPackage Package(const std::string& name,
                      DriverCategory category = DriverCategory::kStorage,
                      std::vector<std::string> requires_ = {}) {
  DriverPackage p;
  p.manifest.name = name;
  p.manifest.version = SemVer::Parse("1.0.0").value();
  p.manifest.category = category;
  p.manifest.entrypoint = "bin/" + name;
  p.manifest.timeouts.start = absl::Seconds(10);
  p.manifest.timeouts.stop = absl::Seconds(5);
  for (auto& r : requires_) {
    p.manifest.requires_.push_back({r, VersionRange::Parse(">=1.0.0").value()});
  }
  p.install_dir = "/opt/drivers/" + name;
  return p;
}

// A fresh directory for the instance folders the supervisor creates.
std::string TempDir() {
  std::string t = "/tmp/pitstop-core-XXXXXX";
  return ::mkdtemp(t.data());
}

SupervisorOptions Options() {
  std::string dir = TempDir();
  return SupervisorOptions{dir + "/run", dir + "/data"};
}

struct Fixture {
  FakeClock clock;
  FakeLauncher launcher;
  FakeEndpoints endpoints;
  EventLog events{clock};
  Supervisor supervisor{launcher, endpoints, clock, events, Options()};

  DriverState State(const std::string& name) {
    return supervisor.Get(name)->state;
  }
  // Start, launch, answer the probe: READY.
  void StartReady(const std::string& name) {
    REQUIRE(supervisor.Start(name).ok());
    supervisor.Step();
    supervisor.Step();
    endpoints.Answer(true);
    REQUIRE(State(name) == DriverState::kReady);
  }
};

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
  Supervisor supervisor(launcher, endpoints, clock, events, options);
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

TEST_CASE("route requests wait for READY, and fail clearly otherwise",
          "[core]") {
  Fixture f;
  REQUIRE(f.supervisor.AddDriver(Package("flashpool")).ok());
  std::vector<absl::StatusOr<Route>> results;
  auto collect = [&](absl::StatusOr<Route> r) { results.push_back(r); };

  f.supervisor.AcquireRoute("nosuch", "", f.clock.Now() + absl::Seconds(1),
                            collect);
  REQUIRE(results.back().status().code() == absl::StatusCode::kNotFound);
  REQUIRE(results.back().status().message().find("installed: flashpool") !=
          std::string::npos);

  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(1),
                            collect);
  REQUIRE(results.back().status().code() ==
          absl::StatusCode::kFailedPrecondition);

  REQUIRE(f.supervisor.Start("flashpool").ok());
  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(5),
                            collect);
  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(1),
                            collect);
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
  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(5),
                            collect, old_instance);
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
      "flashpool", "", f.clock.Now() + absl::Seconds(30),
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
  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(5),
                            collect);
  REQUIRE(routes.size() == 1);
  REQUIRE(routes[0]->pid == old_pid);

  REQUIRE(f.supervisor.Restart("flashpool").ok());
  f.supervisor.Step();
  const pid_t new_pid = f.launcher.last_pid;
  REQUIRE(new_pid != old_pid);
  REQUIRE(f.launcher.children[old_pid].signals.empty());
  // The old instance still takes calls until the new one is READY.
  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(5),
                            collect);
  REQUIRE(routes.back()->pid == old_pid);
  f.supervisor.Step();
  f.endpoints.Answer(true);  // the successor's probe
  f.supervisor.Step();       // cut over
  f.supervisor.AcquireRoute("flashpool", "", f.clock.Now() + absl::Seconds(5),
                            collect);
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

// Keeps what the supervisor saves.
class FakeStore final : public DesiredStateStore {
 public:
  absl::StatusOr<std::map<std::string, DesiredDriverState>> Load() override {
    return saved;
  }
  absl::Status Save(const std::string& driver,
                    const DesiredDriverState& state) override {
    saved[driver] = state;
    return absl::OkStatus();
  }
  std::map<std::string, DesiredDriverState> saved;
};

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

}  // namespace
}  // namespace pitstop
