// pitstop-bench: measures the daemon's cost against a baseline measured in
// the same run, and prints one JSON object per line:
//   {"metric": "call_p50_ratio", "value": 1.9, "unit": "ratio", ...}
// docs/performance.md explains every metric and holds a full run's figures.

#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/bench_support.h"
#include "bench/canary_bench.h"
#include "bench/load_generator.h"
#include "bench/metrics_bench.h"
#include "bench/readopt_bench.h"
#include "bench/upgrade_steps.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/install/package_loader.h"
#include "supervisor/sandbox/child_process_manager.h"

namespace pitstop {
namespace bench {
namespace {

struct Latency {
  double direct_p50, routed_p50, direct_p99, routed_p99;
};

Latency MeasureCalls(const Settings& s, Daemon& daemon,
                     const std::string& name) {
  const sv1::Driver d = daemon.Get(name);
  Caller direct(d.socket_path(), "");
  Caller routed(daemon.socket(), name);
  std::vector<double> direct_us, routed_us;
  MeasureLatency(direct, routed, s.latency_calls, &direct_us, &routed_us);
  return {Percentile(direct_us, 0.5), Percentile(routed_us, 0.5),
          Percentile(direct_us, 0.99), Percentile(routed_us, 0.99)};
}

double RssMegabytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;
    }
  }
  return 0;
}

// One driver: latency, throughput, cold start, crash recovery.
void SingleDriver(const Settings& s, ChildProcessManager& launcher) {
  TempDir dir;
  MakeBenchCar(dir.path() / "cars", "bench");
  Daemon daemon(launcher, dir.path(), dir.path() / "cars");
  daemon.AwaitReady(1, absl::Seconds(30));

  // The daemon works only for the routed half of the calls (and the 500
  // routed warm-up calls).
  const double cpu_before = CpuMicros(daemon.pid());
  const Latency l = MeasureCalls(s, daemon, "bench");
  const double cpu_per_call =
      (CpuMicros(daemon.pid()) - cpu_before) / (s.latency_calls + 500);
  Emit("call_p50_us_direct", l.direct_p50, "us");
  Emit("call_p50_us_routed", l.routed_p50, "us",
       Detail("daemon_cpu_us_per_call", cpu_per_call));
  Emit("call_p50_ratio", l.routed_p50 / l.direct_p50, "ratio",
       Detail("goal_max", 2.2));
  Emit("call_p99_us_direct", l.direct_p99, "us");
  Emit("call_p99_us_routed", l.routed_p99, "us");
  Emit("call_p99_ratio", l.routed_p99 / l.direct_p99, "ratio");

  // 8 callers directly on the driver's socket and 8 through the daemon, in
  // alternating windows so that drift hits both alike. Where the CPU goes:
  // per call, the callers (this process), the driver and the daemon (idle
  // in the direct windows).
  const sv1::Driver bench = daemon.Get("bench");
  const pid_t pids[] = {::getpid(), bench.pid(), daemon.pid()};
  struct Totals {
    int64_t calls = 0;
    absl::Duration time;
    double cpu[3] = {0, 0, 0};
  } totals[2];
  Load loads[] = {Load(bench.socket_path(), "", 8),
                  Load(daemon.socket(), "bench", 8)};
  const absl::Duration window = absl::Milliseconds(500);
  for (absl::Duration done; done < s.throughput_time; done += window) {
    for (int mode = 0; mode < 2; ++mode) {
      double before[3];
      for (int i = 0; i < 3; ++i) before[i] = CpuMicros(pids[i]);
      const absl::Time start = absl::Now();
      totals[mode].calls += loads[mode].Run(window);
      totals[mode].time += absl::Now() - start;
      for (int i = 0; i < 3; ++i) {
        totals[mode].cpu[i] += CpuMicros(pids[i]) - before[i];
      }
    }
  }
  double rate[2];
  for (int mode = 0; mode < 2; ++mode) {
    const Totals& t = totals[mode];
    rate[mode] = t.calls / absl::ToDoubleSeconds(t.time);
    std::string detail = Detail("callers", 8);
    const char* names[] = {"caller", "driver", "daemon"};
    for (int i = 0; i < 3; ++i) {
      detail += Detail(absl::StrCat(names[i], "_cpu_us_per_call"),
                       t.cpu[i] / static_cast<double>(t.calls));
    }
    Emit(mode == 0 ? "throughput_direct" : "throughput_routed", rate[mode],
         "calls/s", detail);
  }
  Emit("throughput_ratio", rate[1] / rate[0], "ratio",
       Detail("goal_min", 0.75));

  // Cold start through the daemon: StartDriver returns once READY.
  std::vector<double> managed_ms;
  for (int i = 0; i < s.cold_starts; ++i) {
    grpc::ClientContext stop_ctx;
    sv1::StopDriverRequest stop;
    stop.set_name("bench");
    sv1::Driver out;
    (void)daemon.admin().StopDriver(&stop_ctx, stop, &out);
    grpc::ClientContext start_ctx;
    sv1::StartDriverRequest start;
    start.set_name("bench");
    const absl::Time t0 = absl::Now();
    grpc::Status st = daemon.admin().StartDriver(&start_ctx, start, &out);
    if (!st.ok() || out.state() != sv1::DRIVER_STATE_READY) {
      std::cerr << "pitstop-bench: start failed: " << st.error_message()
                << "\n";
      std::exit(1);
    }
    managed_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  // The same binary started bare, until its probe answers ready.
  std::vector<double> bare_ms;
  for (int i = 0; i < s.cold_starts; ++i) {
    const std::string sock =
        (dir.path() / absl::StrCat("bare-", i, ".sock")).string();
    absl::Mutex mu;
    bool exited = false;
    const absl::Time t0 = absl::Now();
    auto pid = launcher.Launch(
        LaunchSpec{BENCH_DRIVER_PATH,
                   {"--listen", "unix:" + sock, "--manifest", BENCH_DRIVER_YAML,
                    "--state-dir", (dir.path() / "bare-state").string()},
                   {"PATH=/usr/bin:/bin"},
                   dir.path().string(),
                   {}},
        nullptr, [&](const ExitInfo&) {
          absl::MutexLock lock(&mu);
          exited = true;
        });
    if (!pid.ok()) std::exit(1);
    // Wait for the socket as the supervisor does, then probe.
    while (::access(sock.c_str(), F_OK) != 0) {
      absl::SleepFor(absl::Microseconds(200));
    }
    auto identity = dv1::IdentityService::NewStub(UnixChannel(sock));
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      dv1::ProbeResponse resp;
      if (identity->Probe(&ctx, {}, &resp).ok() && resp.ready()) break;
    }
    bare_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    (void)launcher.Signal(*pid, SIGTERM);
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&exited), absl::Seconds(10));
  }
  const double managed = Percentile(managed_ms, 0.5);
  const double bare = Percentile(bare_ms, 0.5);
  Emit("cold_start_ms_p50", managed, "ms",
       Detail("goal_max", 30) + Detail("bare_ms_p50", bare) +
           ", \"sandbox\": \"on\"");
  Emit("cold_start_ratio", managed / bare, "ratio", Detail("goal_max", 1.5));

  // SIGKILL of the driver until the next routed call succeeds. An operator
  // restart between samples resets the restart policy to its default state.
  std::vector<double> crash_ms;
  Caller routed(daemon.socket(), "bench");
  for (int i = 0; i < s.crashes; ++i) {
    grpc::ClientContext ctx;
    sv1::RestartDriverRequest req;
    req.set_name("bench");
    sv1::Driver d;
    (void)daemon.admin().RestartDriver(&ctx, req, &d);
    routed.Call();
    const absl::Time t0 = absl::Now();
    ::kill(d.pid(), SIGKILL);
    if (!routed.Call(absl::Seconds(10), absl::StrCat("crash-", i))) {
      std::cerr << "pitstop-bench: no call succeeded after a crash\n";
      std::exit(1);
    }
    crash_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  Emit("crash_to_serving_ms_p50", Percentile(crash_ms, 0.5), "ms",
       Detail("goal_max", 100));
}

// Many drivers on one daemon: memory, and routed latency against a daemon
// with one driver, both running at once and measured in alternating blocks.
void ManyDrivers(const Settings& s, ChildProcessManager& launcher) {
  TempDir one_dir;
  MakeBenchCar(one_dir.path() / "cars", "bench-000");
  Daemon one(launcher, one_dir.path(), one_dir.path() / "cars");
  TempDir dir;
  for (int i = 0; i < s.many_drivers; ++i) {
    MakeBenchCar(dir.path() / "cars", absl::StrCat("bench-",
                                                   i < 10    ? "00"
                                                   : i < 100 ? "0"
                                                             : "",
                                                   i));
  }
  const absl::Time t0 = absl::Now();
  Daemon many(launcher, dir.path(), dir.path() / "cars");
  many.AwaitReady(s.many_drivers, absl::Seconds(120));
  const double start_s = Seconds(absl::Now() - t0);
  one.AwaitReady(1, absl::Seconds(30));

  Caller to_one(one.socket(), "bench-000");
  Caller to_many(many.socket(), "bench-050");
  std::vector<double> one_us, many_us;
  MeasureLatency(to_one, to_many, s.latency_calls, &one_us, &many_us);
  const double one_p50 = Percentile(one_us, 0.5);
  const double many_p50 = Percentile(many_us, 0.5);
  Emit(absl::StrCat("supervisor_rss_mb_", s.many_drivers, "_drivers"),
       RssMegabytes(many.pid()), "MB",
       Detail("goal_max", 64) + Detail("all_ready_s", start_s));
  Emit(absl::StrCat("call_p50_ratio_", s.many_drivers, "_drivers"),
       many_p50 / one_p50, "ratio",
       Detail("goal_max", 1.1) + Detail("routed_p50_us_1_driver", one_p50) +
           Detail("routed_p50_us_many", many_p50));
}

// Installing a large CAR against unzip of the same file.
void CarInstall(const Settings& s) {
  TempDir dir;
  MakeBenchCar(dir.path() / "cars", "bigcar",
               static_cast<size_t>(s.car_megabytes) << 20);
  const std::string car = (dir.path() / "cars" / "bigcar.car").string();
  std::vector<double> install_ms, unzip_ms;
  for (int i = 0; i < 3; ++i) {
    const std::string packages = (dir.path() / absl::StrCat("p", i)).string();
    absl::Time t0 = absl::Now();
    auto installed = InstallCar(car, packages);
    if (!installed.ok()) {
      std::cerr << "pitstop-bench: " << installed.status().message() << "\n";
      std::exit(1);
    }
    install_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    const std::string out = (dir.path() / absl::StrCat("u", i)).string();
    t0 = absl::Now();
    const std::string cmd = absl::StrCat("unzip -q -o ", car, " -d ", out);
    if (std::system(cmd.c_str()) != 0) {
      std::cerr << "pitstop-bench: `unzip` failed (is it installed?)\n";
      return;
    }
    unzip_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  const double install = Percentile(install_ms, 0.5);
  const double unzip = Percentile(unzip_ms, 0.5);
  Emit("car_install_ratio", install / unzip, "ratio",
       Detail("goal_max", 1.5) + Detail("install_ms", install) +
           Detail("unzip_ms", unzip) + Detail("car_mb", s.car_megabytes) +
           ", \"verified\": false");
}

double StepMs(const std::map<std::string, absl::Time>& steps,
              const std::string& from, const std::string& to) {
  auto a = steps.find(from);
  auto b = steps.find(to);
  if (a == steps.end() || b == steps.end()) return -1;
  return absl::ToDoubleMilliseconds(b->second - a->second);
}

// v1 -> v2 (committed), v2 -> v3 (crashes in probation: rolled back), then a
// graceful restart, all under load; p99 before against during.
void Upgrades(const Settings& s, ChildProcessManager& launcher) {
  TempDir dir;
  const fs::path cars = dir.path() / "cars";
  fs::create_directories(cars);
  auto car = RecorderCarPath;
  fs::copy_file(car(1), cars / "recorder-1.0.0.car");
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
  // Connections warm, then the baseline window.
  (void)load.AwaitCalls(s.upgrade_callers * 20, absl::Seconds(30));
  const absl::Time t0 = absl::Now();
  absl::SleepFor(s.upgrade_baseline);

  const absl::Time t1 = absl::Now();
  auto up = FirstByKind(FollowEvents(
      daemon, "recorder", StartUpgrade(daemon, car(2), s.upgrade_probation),
      {"upgrade-old-stopped", "upgrade-rolled-back"}));
  const absl::Time t2 = absl::Now();
  auto rollback = FirstByKind(FollowEvents(
      daemon, "recorder", StartUpgrade(daemon, car(3), s.upgrade_probation * 4),
      {"upgrade-rolled-back", "upgrade-old-stopped"}));
  const absl::Time t3 = absl::Now();
  {
    grpc::ClientContext ctx;
    sv1::RestartDriverRequest req;
    req.set_name("recorder");
    sv1::Driver d;
    (void)daemon.admin().RestartDriver(&ctx, req, &d);
  }
  absl::SleepFor(absl::Seconds(1));  // calls after the restart
  load.Stop();
  const absl::Time t4 = absl::Now();

  const LoadSummary before = load.Summarize(t0, t1);
  const LoadSummary during = load.Summarize(t1, t2);
  const LoadSummary failing = load.Summarize(t2, t3);
  const LoadSummary all = load.Summarize(t0, t4);
  const std::string size = Detail("callers", s.upgrade_callers) +
                           Detail("resources", s.upgrade_resources);
  Emit("upgrade_calls", all.calls, "calls", size);
  Emit("upgrade_failed_calls", all.failed, "calls",
       Detail("goal_max", 0) + FirstErrors(all));
  Emit("upgrade_p50_us_before", before.p50_us, "us",
       Detail("calls", before.calls));
  Emit("upgrade_p99_us_before", before.p99_us, "us");
  Emit("upgrade_p50_us_during", during.p50_us, "us",
       Detail("calls", during.calls));
  Emit("upgrade_p99_us_during", during.p99_us, "us");
  Emit("upgrade_p99_ratio", during.p99_us / before.p99_us, "ratio",
       Detail("failed_during", during.failed));
  Emit("rollback_p99_ratio", failing.p99_us / before.p99_us, "ratio",
       Detail("calls", failing.calls) + Detail("failed", failing.failed));
  Emit("upgrade_step_start_to_ready_ms",
       StepMs(up, "upgrade-started", "upgrade-ready"), "ms");
  Emit("upgrade_step_cut_over_to_drained_ms",
       StepMs(up, "upgrade-cut-over", "upgrade-drained"), "ms");
  Emit("upgrade_step_committed_to_old_stopped_ms",
       StepMs(up, "upgrade-committed", "upgrade-old-stopped"), "ms");
  Emit("upgrade_total_ms", StepMs(up, "upgrade-started", "upgrade-old-stopped"),
       "ms",
       Detail("probation_ms", absl::ToDoubleMilliseconds(s.upgrade_probation)));
  Emit("rollback_cut_over_to_rolled_back_ms",
       StepMs(rollback, "upgrade-cut-over", "upgrade-rolled-back"), "ms");
}

// For profiling the daemon: 8 routed callers on the bench driver.
void RoutedLoad(absl::Duration duration, ChildProcessManager& launcher) {
  TempDir dir;
  MakeBenchCar(dir.path() / "cars", "bench");
  Daemon daemon(launcher, dir.path(), dir.path() / "cars");
  daemon.AwaitReady(1, absl::Seconds(30));
  Load load(daemon.socket(), "bench", 8);
  std::cerr << "pitstopd pid " << daemon.pid() << ": calling for " << duration
            << "\n";
  const int64_t calls = load.Run(duration);
  Emit("throughput_routed", calls / absl::ToDoubleSeconds(duration), "calls/s",
       Detail("callers", 8));
}

int Main(int argc, char** argv) {
  CLI::App app{"pitstop-bench: the daemon's cost against same-run baselines"};
  Settings s;
  std::string only;
  app.add_flag("--quick", s.quick, "about one minute instead of several");
  app.add_option("--only", only,
                 "one group: calls (latency, throughput, starts, crashes), "
                 "readopt (a new daemon after kill -9 of the old one), "
                 "handover (pitstopd --take-over under load), many, car, "
                 "upgrade, canary (canary upgrades under load), metrics "
                 "(what counting calls costs)");
  double routed_load = 0;
  app.add_option("--routed-load", routed_load,
                 "only run 8 routed callers for this many seconds (for "
                 "perf record -p $(pidof pitstopd)); prints the rate");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (s.quick) {
    s.latency_calls = 3000;
    s.throughput_time = absl::Seconds(2);
    s.cold_starts = 5;
    s.crashes = 5;
    s.readopt_rounds = 3;
    s.many_drivers = 100;
    s.car_megabytes = 50;
    s.upgrade_callers = 8;
    s.upgrade_resources = 40;
    s.upgrade_baseline = absl::Seconds(2);
    s.upgrade_probation = absl::Seconds(1);
  }
  ::signal(SIGPIPE, SIG_IGN);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ChildProcessManager launcher;
  if (routed_load > 0) {
    RoutedLoad(absl::Seconds(routed_load), launcher);
    return 0;
  }
  if (only.empty() || only == "calls") SingleDriver(s, launcher);
  if (only.empty() || only == "metrics") MetricsCost(s, launcher);
  if (only.empty() || only == "many") ManyDrivers(s, launcher);
  if (only.empty() || only == "car") CarInstall(s);
  if (only.empty() || only == "upgrade") Upgrades(s, launcher);
  if (only.empty() || only == "canary") Canaries(s, launcher);
  if (only.empty() || only == "readopt") Readopt(s, launcher);
  if (only.empty() || only == "handover") Handover(s, launcher);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace pitstop

int main(int argc, char** argv) { return pitstop::bench::Main(argc, argv); }
