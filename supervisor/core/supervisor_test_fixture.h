#ifndef PITSTOP_SUPERVISOR_CORE_SUPERVISOR_TEST_FIXTURE_H_
#define PITSTOP_SUPERVISOR_CORE_SUPERVISOR_TEST_FIXTURE_H_

// Test-only: a Supervisor over fakes (launcher, endpoints, files, store,
// clock) for the core tests, and flashpool 1.0.0 READY beside 2.0.0 for
// the upgrade and canary tests.

#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "supervisor/common/clock.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {

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

// Records what the supervisor asks of the file system; touches nothing.
class FakeInstanceFiles final : public InstanceFiles {
 public:
  absl::Status Prepare(const std::string& dir, const std::string&,
                       const std::string&) override {
    prepared.push_back(dir);
    return absl::OkStatus();
  }
  absl::Status RecordPid(const std::string&, pid_t) override {
    return absl::OkStatus();
  }
  void Remove(const std::string& dir) override { removed.push_back(dir); }

  std::vector<std::string> prepared;
  std::vector<std::string> removed;
};

inline DriverPackage Package(const std::string& name,
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

// The supervisor reaches the file system only through InstanceFiles (faked
// here), so these directories are never created.
inline SupervisorOptions Options() {
  const std::string dir = "/nonexistent/pitstop-core-test";
  SupervisorOptions options;
  options.run_dir = dir + "/run";
  options.data_dir = dir + "/data";
  return options;
}

// A storage call's route request.
inline RouteRequest Req(std::string driver, std::string resource,
                        absl::Time deadline, uint64_t avoid_instance = 0) {
  RouteRequest request;
  request.driver = std::move(driver);
  request.resource = std::move(resource);
  request.deadline = deadline;
  request.avoid_instance = avoid_instance;
  return request;
}

struct Fixture {
  FakeClock clock;
  FakeLauncher launcher;
  FakeEndpoints endpoints;
  EventLog events{clock};
  FakeInstanceFiles files;
  // What the canary gate reads: the calls of (driver, version) so far.
  std::map<std::pair<std::string, std::string>, CallTotals> totals;
  Supervisor supervisor{launcher, endpoints, files,
                        clock,    events,    OptionsWithTotals()};

  SupervisorOptions OptionsWithTotals() {
    SupervisorOptions options = Options();
    options.call_totals = [this](absl::string_view driver,
                                 absl::string_view version) {
      auto it = totals.find({std::string(driver), std::string(version)});
      if (it != totals.end()) return it->second;
      CallTotals none;
      none.buckets.assign(kLatencyBoundCount + 1, 0);
      return none;
    };
    return options;
  }

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

// Upgrades ------------------------------------------------------------------

inline DriverPackage Version(const std::string& name,
                             const std::string& version) {
  DriverPackage p = Package(name);
  p.manifest.version = SemVer::Parse(version).value();
  p.install_dir = "/opt/drivers/" + name + "/" + version;
  return p;
}

inline std::vector<std::string> UpgradeEventKinds(EventLog& events) {
  std::vector<std::string> steps;
  for (const DriverEvent& e : events.Since(0)) {
    if (e.kind.rfind("upgrade-", 0) == 0) steps.push_back(e.kind);
  }
  return steps;
}

// A fixture with flashpool 1.0.0 READY and 2.0.0 installed beside it.
struct UpgradeFixture : Fixture {
  FakeStore store;
  pid_t old_pid = 0;
  std::vector<absl::StatusOr<Route>> routes;

  UpgradeFixture() {
    supervisor.SetStore(&store);
    REQUIRE(supervisor.AddDriver(Version("flashpool", "1.0.0")).ok());
    REQUIRE(supervisor.AddDriver(Version("flashpool", "2.0.0")).ok());
    StartReady("flashpool");
    old_pid = launcher.last_pid;
  }
  // Routes a call for `resource`; its Route lands in routes[index].
  size_t Call(const std::string& resource) {
    const size_t index = routes.size();
    routes.emplace_back(absl::UnknownError("waiting"));
    supervisor.AcquireRoute(
        Req("flashpool", resource, clock.Now() + absl::Seconds(60)),
        [this, index](absl::StatusOr<Route> r) { routes[index] = r; });
    return index;
  }
  bool Waiting(size_t index) { return absl::IsUnknown(routes[index].status()); }
  void End(size_t index) { routes[index] = absl::CancelledError("ended"); }
  // Upgrade to 2.0.0 until the cut-over; returns the new pid.
  pid_t CutOver(UpgradeOptions options = {}) {
    REQUIRE(supervisor.Upgrade("flashpool", "2.0.0", options).ok());
    supervisor.Step();  // launch 2.0.0 beside 1.0.0
    const pid_t new_pid = launcher.last_pid;
    REQUIRE(new_pid != old_pid);
    REQUIRE(launcher.children[new_pid].spec.executable ==
            "/opt/drivers/flashpool/2.0.0/bin/flashpool");
    supervisor.Step();
    endpoints.Answer(true);
    supervisor.Step();  // cut over
    return new_pid;
  }
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_SUPERVISOR_TEST_FIXTURE_H_
