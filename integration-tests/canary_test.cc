// Canary upgrades with the real daemon, CLI and recorder driver under load
// over 200 resources (docs/lifecycle.md, "Canary upgrades"): the share on
// the new version is the hashed cohort and only it, no resource ever runs in
// two processes at once, the steps reach 100% and commit with no failed
// call; a new version that fails its calls is rolled back by the gate, and
// only its cohort ever reached it; a restart of pitstopd mid-canary takes
// both processes back and goes on at the same step.

#include <signal.h>
#include <time.h>

#include <catch2/catch.hpp>
#include <functional>
#include <iostream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/load_generator.h"
#include "integration-tests/daemon_fixture.h"
#include "integration-tests/recorder_records.h"
#include "supervisor/core/canary_plan.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

constexpr int kResources = 200;

int64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The resources the load calls that a share of `percent` holds.
std::set<std::string> Cohort(double percent) {
  CanaryPlan plan;
  std::set<std::string> out;
  for (int i = 0; i < kResources; ++i) {
    const std::string r = absl::StrCat("volume/vol-", i);
    if (InCanary(plan, percent, "recorder", r)) out.insert(r);
  }
  return out;
}

LoadOptions Load(Daemon& daemon) {
  LoadOptions options;
  options.channel = daemon.channel();
  options.driver = "recorder";
  options.callers = 8;
  options.resources = kResources;
  options.work_ms = "2";
  return options;
}

// Polls the driver until `done`; the monotonic time of the last poll at
// which `before` still held is kept in *last_before.
sv1::Driver PollUntil(Daemon& daemon,
                      const std::function<bool(const sv1::Driver&)>& before,
                      const std::function<bool(const sv1::Driver&)>& done,
                      int64_t* last_before) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  sv1::Driver d;
  while (absl::Now() < deadline) {
    const int64_t at = MonotonicNanos();
    d = daemon.GetDriver("recorder");
    if (before(d)) *last_before = at;
    if (done(d)) return d;
    absl::SleepFor(absl::Milliseconds(20));
  }
  const CommandResult events = Cli(daemon, {"events", "--driver", "recorder"});
  FAIL("the driver never reached the state waited for; last: "
       << d.ShortDebugString() << "\nevents:\n"
       << events.out);
  return {};
}

TEST_CASE(
    "a canary under load puts its hashed share of 200 resources on the new "
    "version and only those, never runs a resource in two processes at "
    "once, and steps to 100% and commits with no failed call",
    "[integration][canary]") {
  RecorderCars cars;
  Daemon daemon(cars.Spec());
  LoadGenerator load(Load(daemon));
  load.Start();
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));

  CommandResult up;
  // The gate's p99 bound is wide: this test is about the steps, and a busy
  // CI machine's latencies must not roll it back.
  std::thread cli([&] {
    up = Cli(daemon, {"upgrade", "recorder", "--car", RecorderCar(2), "--steps",
                      "10%,50%,100%", "--interval", "3s", "--gate",
                      "min-calls=10,p99=100", "--probation", "1s"});
  });
  // Joined whatever a REQUIRE does: a joinable thread's destructor aborts.
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{cli};
  // The window in which the first step, 10%, served.
  int64_t step1_from = 0;
  int64_t step1_to = 0;
  auto at_step = [](int step) {
    return [step](const sv1::Driver& d) {
      return d.has_canary() && d.canary().serving() &&
             static_cast<int>(d.canary().step()) == step;
    };
  };
  PollUntil(
      daemon, [](const sv1::Driver&) { return false; }, at_step(0),
      &step1_from);
  step1_from = MonotonicNanos();
  const sv1::Driver at50 = PollUntil(daemon, at_step(0), at_step(1), &step1_to);
  REQUIRE(at50.canary().percent() == 50);
  cli.join();
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  REQUIRE(up.out.find("canary-step") != std::string::npos);
  REQUIRE(up.out.find("canary-gate") != std::string::npos);
  REQUIRE(up.out.find("upgrade-committed") != std::string::npos);
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  load.Stop();
  std::cout << "pitstop upgrade --steps 10%,50%,100%:\n" << up.out;

  const LoadSummary all =
      load.Summarize(absl::InfinitePast(), absl::InfiniteFuture());
  INFO("calls " << all.calls << ", failed " << all.failed << "; first: "
                << (all.first_errors.empty() ? "" : all.first_errors[0]));
  REQUIRE(all.failed == 0);

  const std::map<std::string, Served> served =
      ReadServed(daemon.dir() + "/state/data/recorder/ops");
  REQUIRE(served.size() == load.Records().size());
  REQUIRE(CountOverlaps(served) == 0);
  // During the 10% step: 2.0.0 served the cohort's resources, 1.0.0 the
  // others, and nothing else.
  const std::set<std::string> cohort = Cohort(10);
  std::set<std::string> on_new;
  int64_t calls_in_step = 0;
  for (const auto& [op, s] : served) {
    if (s.start < step1_from || s.start > step1_to) continue;
    ++calls_in_step;
    INFO(s.resource << " on " << s.version);
    REQUIRE((s.version == "2.0.0") == (cohort.count(s.resource) > 0));
    if (s.version == "2.0.0") on_new.insert(s.resource);
  }
  std::cout << "10% step: " << calls_in_step << " calls, " << on_new.size()
            << " of " << kResources << " resources on 2.0.0 (cohort "
            << cohort.size() << ")\n";
  REQUIRE(calls_in_step > 100);
  REQUIRE(cohort.size() >= kResources * 5 / 100);
  REQUIRE(cohort.size() <= kResources * 15 / 100);
  REQUIRE(on_new.size() >= cohort.size() / 2);
  const sv1::Driver d = daemon.GetDriver("recorder");
  REQUIRE(d.version() == "2.0.0");
  REQUIRE(!d.has_canary());
}

TEST_CASE(
    "a canary whose new version fails its calls is rolled back by the gate, "
    "and only the canary's resources ever reached that version",
    "[integration][canary]") {
  RecorderCars cars;
  Daemon daemon(cars.Spec());
  LoadGenerator load(Load(daemon));
  load.Start();
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  const CommandResult up =
      Cli(daemon, {"upgrade", "recorder", "--car", RecorderCar(4), "--canary",
                   "10%", "--interval", "2s", "--gate", "min-calls=5"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code != 0);
  REQUIRE(up.out.find("upgrade-rolled-back") != std::string::npos);
  REQUIRE(up.out.find("its gate failed on error rate 4.0.0 100.00%") !=
          std::string::npos);
  std::cout << "pitstop upgrade --canary 10% (4.0.0):\n" << up.out;
  // 1.0.0 serves everything again and every call succeeds.
  const sv1::Driver d = daemon.GetDriver("recorder");
  REQUIRE(d.version() == "1.0.0");
  REQUIRE(!d.has_canary());
  const absl::Time after = absl::Now();
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  load.Stop();
  // Calls on 4.0.0 before the rollback failed; none that began after.
  const LoadSummary later = load.Summarize(after, absl::InfiniteFuture());
  REQUIRE(later.calls > 0);
  REQUIRE(later.failed == 0);

  const std::set<std::string> cohort = Cohort(10);
  int reached = 0;
  for (const auto& [op, s] :
       ReadServed(daemon.dir() + "/state/data/recorder/ops")) {
    if (s.version != "4.0.0") continue;
    ++reached;
    INFO(s.resource);
    REQUIRE(cohort.count(s.resource) == 1);
  }
  REQUIRE(reached >= 5);
  // The failed calls were 4.0.0's answers, on the cohort only.
  for (const CallRecord& c : load.Records()) {
    if (c.ok) continue;
    INFO(c.resource << ": " << c.error);
    REQUIRE(cohort.count(c.resource) == 1);
    REQUIRE(c.error.find("fails every call") != std::string::npos);
  }
}

// Stops the load; not one of its calls failed.
void StopWithNoFailedCall(LoadGenerator& load) {
  load.Stop();
  const LoadSummary all =
      load.Summarize(absl::InfinitePast(), absl::InfiniteFuture());
  INFO("failed " << all.failed << "; first: "
                 << (all.first_errors.empty() ? "" : all.first_errors[0]));
  REQUIRE(all.failed == 0);
}

// The recorder's CARs and a daemon directory that outlives one pitstopd,
// for tests that restart it; the keepers left are reaped at the end.
struct RestartableRecorder {
  RestartableRecorder() : spec(SpecIn(cars)), reaper(spec.dir) {}
  static DaemonSpec SpecIn(const RecorderCars& cars) {
    DaemonSpec spec = cars.Spec();
    spec.dir = cars.dir() + "/daemon";
    std::filesystem::create_directories(spec.dir);
    return spec;
  }
  RecorderCars cars;
  DaemonSpec spec;
  KeeperReaper reaper;
};

// The pid of the instance of `d` with `role`, or 0.
int PidOf(const sv1::Driver& d, const std::string& role) {
  for (const sv1::Instance& i : d.instances()) {
    if (i.role() == role) return i.pid();
  }
  return 0;
}

TEST_CASE(
    "a pitstopd killed during a canary under load comes back with the canary "
    "at its step: both processes re-adopted with their pids, only the cohort "
    "on the new version, no resource on two processes at once, no failed "
    "call; promoted after, it commits",
    "[integration][canary][readopt]") {
  if (!KeepersOnThisHost()) return;
  RestartableRecorder restartable;
  const DaemonSpec& spec = restartable.spec;
  Daemon first(spec);
  LoadOptions options = Load(first);
  options.retry_unavailable = true;  // resent with the operation id
  options.call_timeout = absl::Seconds(30);
  LoadGenerator load(options);
  load.Start();
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  const CommandResult up =
      Cli(first, {"upgrade", "recorder", "--car", RecorderCar(2), "--steps",
                  "10%,50%,100%", "--interval", "1h", "--probation", "1s",
                  "--no-wait"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  sv1::Driver d = AwaitDriver(first, "recorder", [](const sv1::Driver& d) {
    return d.has_canary() && d.canary().serving();
  });
  const int64_t canary_serving = MonotonicNanos();
  const int old_pid = d.pid();
  const int new_pid = PidOf(d, "canary");
  REQUIRE(new_pid != 0);
  REQUIRE(load.AwaitCalls(1000, absl::Seconds(30)));
  first.Kill();
  REQUIRE(::kill(old_pid, 0) == 0);
  REQUIRE(::kill(new_pid, 0) == 0);

  Daemon second(spec);
  d = AwaitDriver(second, "recorder", [](const sv1::Driver& d) {
    return d.has_canary() && d.canary().serving();
  });
  REQUIRE(d.version() == "1.0.0");
  REQUIRE(d.pid() == old_pid);
  REQUIRE(PidOf(d, "canary") == new_pid);
  REQUIRE(d.canary().step() == 0);
  REQUIRE(d.canary().plan().steps_percent_size() == 3);
  const CommandResult events = Cli(second, {"events", "--driver", "recorder"});
  INFO(events.out);
  REQUIRE(events.out.find(absl::StrCat(
              "re-adopted pid ", new_pid,
              " (version 2.0.0, the new version of its canary)")) !=
          std::string::npos);
  REQUIRE(events.out.find("the canary of 2.0.0 at 10% (step 1 of 3) goes on "
                          "after a restart of pitstopd") != std::string::npos);
  const std::set<std::string> cohort = Cohort(10);
  const std::string in = *cohort.begin();
  const CommandResult where = Cli(second, {"where", "recorder", in});
  INFO(where.out << where.err);
  REQUIRE(where.out.find(in + ": 2.0.0") == 0);
  const int64_t resumed = MonotonicNanos();
  REQUIRE(load.AwaitCalls(1000, absl::Seconds(30)));

  const int64_t promoted = MonotonicNanos();
  const CommandResult promote =
      Cli(second, {"upgrade", "recorder", "--promote"});
  INFO(promote.out << promote.err);
  REQUIRE(promote.exit_code == 0);
  d = AwaitDriver(second, "recorder", [](const sv1::Driver& d) {
    return d.version() == "2.0.0" && d.upgrade().empty() &&
           d.instances_size() == 1;
  });
  REQUIRE(d.pid() == new_pid);
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  StopWithNoFailedCall(load);

  const std::map<std::string, Served> served =
      ReadServed(spec.dir + "/state/data/recorder/ops");
  REQUIRE(CountOverlaps(served) == 0);
  int canary_after_restart = 0;
  for (const auto& [op, s] : served) {
    if (s.start <= canary_serving || s.end >= promoted) continue;
    // From the first step to the promotion, before and after the restart
    // alike, 2.0.0 served the cohort and only it.
    INFO(s.resource << " on " << s.version);
    REQUIRE((s.version == "2.0.0") == (cohort.count(s.resource) > 0));
    if (s.version == "2.0.0" && s.start > resumed) ++canary_after_restart;
  }
  REQUIRE(canary_after_restart > 0);
}

TEST_CASE(
    "a canary whose new version was killed while no pitstopd ran is rolled "
    "back after the restart as for any crash of it, and the old version "
    "serves every resource with its pid",
    "[integration][canary][readopt]") {
  if (!KeepersOnThisHost()) return;
  RestartableRecorder restartable;
  const DaemonSpec& spec = restartable.spec;
  int old_pid = 0;
  {
    Daemon first(spec);
    const CommandResult up =
        Cli(first, {"upgrade", "recorder", "--car", RecorderCar(2), "--canary",
                    "10%", "--interval", "1h", "--no-wait"});
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
    const sv1::Driver d =
        AwaitDriver(first, "recorder", [](const sv1::Driver& d) {
          return d.has_canary() && d.canary().serving();
        });
    old_pid = d.pid();
    const int new_pid = PidOf(d, "canary");
    first.Kill();
    REQUIRE(::kill(new_pid, SIGKILL) == 0);
    REQUIRE(AwaitProcessesGone({new_pid}, absl::Seconds(10)));
  }
  Daemon second(spec);
  const sv1::Driver d =
      AwaitDriver(second, "recorder", [](const sv1::Driver& d) {
        return d.state() == sv1::DRIVER_STATE_READY && !d.has_canary() &&
               d.instances_size() == 1;
      });
  REQUIRE(d.version() == "1.0.0");
  REQUIRE(d.pid() == old_pid);
  const CommandResult events = Cli(second, {"events", "--driver", "recorder"});
  INFO(events.out);
  REQUIRE(events.out.find("upgrade to 2.0.0 rolled back: the new version ") !=
          std::string::npos);
  REQUIRE(events.out.find("before it answered again after a restart of "
                          "pitstopd; 1.0.0 keeps serving") !=
          std::string::npos);
  const std::string in = *Cohort(10).begin();
  const CommandResult where = Cli(second, {"where", "recorder", in});
  REQUIRE(where.out.find(in + ": 1.0.0") == 0);
  // The rollback is saved: a second restart does not bring the canary back.
  second.Kill();
  Daemon third(spec);
  REQUIRE(!third.AwaitReady("recorder").has_canary());
}

TEST_CASE(
    "a pinned resource stays on its version through an upgrade under load, "
    "pitstop where says so, and unpinning lets the old version stop",
    "[integration][canary][pin]") {
  RecorderCars cars;
  Daemon daemon(cars.Spec());
  const CommandResult pin =
      Cli(daemon, {"pin", "recorder", "volume/vol-3", "--version", "1.0.0"});
  INFO(pin.out << pin.err);
  REQUIRE(pin.exit_code == 0);
  LoadGenerator load(Load(daemon));
  load.Start();
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  const CommandResult up = Cli(daemon, {"upgrade", "recorder", "--car",
                                        RecorderCar(2), "--probation", "1s"});
  INFO(up.out << up.err);
  // Committed; 1.0.0 runs on for its pinned resource (the CLI waits for a
  // single process only when none is kept).
  REQUIRE(up.out.find("keeps serving its pinned resources") !=
          std::string::npos);
  const sv1::Driver d = daemon.GetDriver("recorder");
  REQUIRE(d.version() == "2.0.0");
  REQUIRE(d.instances_size() == 2);
  REQUIRE(d.instances(1).role() == "pinned");
  const int64_t committed = MonotonicNanos();
  REQUIRE(load.AwaitCalls(2000, absl::Seconds(30)));
  const CommandResult where =
      Cli(daemon, {"where", "recorder", "volume/vol-3"});
  INFO(where.out << where.err);
  REQUIRE(where.out.find("volume/vol-3: 1.0.0") == 0);
  REQUIRE(where.out.find("pinned to 1.0.0") != std::string::npos);
  const CommandResult other =
      Cli(daemon, {"where", "recorder", "volume/vol-4"});
  REQUIRE(other.out.find("volume/vol-4: 2.0.0") == 0);

  const int64_t unpinned = MonotonicNanos();
  const CommandResult unpin =
      Cli(daemon, {"unpin", "recorder", "volume/vol-3"});
  REQUIRE(unpin.exit_code == 0);
  REQUIRE(AwaitDriver(daemon, "recorder", [](const sv1::Driver& d) {
            return d.instances_size() == 1;
          }).version() == "2.0.0");
  REQUIRE(load.AwaitCalls(300, absl::Seconds(30)));
  StopWithNoFailedCall(load);

  const std::map<std::string, Served> served =
      ReadServed(daemon.dir() + "/state/data/recorder/ops");
  REQUIRE(CountOverlaps(served) == 0);
  int pinned_calls = 0;
  for (const auto& [op, s] : served) {
    if (s.resource != "volume/vol-3") {
      if (s.start > committed) REQUIRE(s.version == "2.0.0");
      continue;
    }
    // The pinned resource ran on 1.0.0 until it was unpinned.
    if (s.version == "1.0.0") {
      ++pinned_calls;
    } else {
      REQUIRE(s.start > unpinned);
    }
  }
  REQUIRE(pinned_calls > 0);
}

TEST_CASE(
    "a pinned version's process is taken back by a restart of pitstopd with "
    "its pid and goes on serving its pinned resource",
    "[integration][canary][pin][readopt]") {
  if (!KeepersOnThisHost()) return;
  RestartableRecorder restartable;
  const DaemonSpec& spec = restartable.spec;
  Daemon first(spec);
  REQUIRE(Cli(first, {"pin", "recorder", "volume/vol-3", "--version", "1.0.0"})
              .exit_code == 0);
  const CommandResult up = Cli(first, {"upgrade", "recorder", "--car",
                                       RecorderCar(2), "--probation", "1s"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  sv1::Driver d = first.GetDriver("recorder");
  const int active_pid = d.pid();
  const int pinned_pid = PidOf(d, "pinned");
  REQUIRE(pinned_pid != 0);
  first.Kill();

  Daemon second(spec);
  d = AwaitDriver(second, "recorder", [](const sv1::Driver& d) {
    return d.state() == sv1::DRIVER_STATE_READY && d.instances_size() == 2;
  });
  REQUIRE(d.version() == "2.0.0");
  REQUIRE(d.pid() == active_pid);
  REQUIRE(PidOf(d, "pinned") == pinned_pid);
  const CommandResult events = Cli(second, {"events", "--driver", "recorder"});
  INFO(events.out);
  REQUIRE(events.out.find(
              absl::StrCat("re-adopted pid ", pinned_pid,
                           " (version 1.0.0, for its pinned resources)")) !=
          std::string::npos);
  const CommandResult where =
      Cli(second, {"where", "recorder", "volume/vol-3"});
  INFO(where.out << where.err);
  REQUIRE(where.out.find("volume/vol-3: 1.0.0") == 0);
  REQUIRE(where.out.find("pinned to 1.0.0") != std::string::npos);

  const int64_t restarted = MonotonicNanos();
  LoadGenerator load(Load(second));
  load.Start();
  REQUIRE(load.AwaitCalls(1000, absl::Seconds(30)));
  StopWithNoFailedCall(load);
  int pinned_calls = 0;
  for (const auto& [op, s] :
       ReadServed(spec.dir + "/state/data/recorder/ops")) {
    if (s.start < restarted) continue;
    INFO(s.resource << " on " << s.version);
    REQUIRE((s.version == "1.0.0") == (s.resource == "volume/vol-3"));
    if (s.resource == "volume/vol-3") ++pinned_calls;
  }
  REQUIRE(pinned_calls > 0);
}

}  // namespace
}  // namespace pitstop
