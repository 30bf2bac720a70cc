#ifndef PITSTOP_BENCH_BENCH_SUPPORT_H_
#define PITSTOP_BENCH_BENCH_SUPPORT_H_

// What pitstop-bench's groups share: settings, the JSON-lines output, a
// temporary directory, bench-driver CARs, a pitstopd to measure, and a caller
// of the bench driver. Used only by pitstop-bench (its compile definitions
// name the binaries and files).

#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/load_generator.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/sandbox/child_process_manager.h"

namespace pitstop::bench {

namespace fs = std::filesystem;
namespace dv1 = pitstop::driver::v1;
namespace sv1 = pitstop::supervisor::v1;

struct Settings {
  bool quick = false;
  int latency_calls = 20000;
  absl::Duration throughput_time = absl::Seconds(5);
  int cold_starts = 20;
  int crashes = 10;
  int many_drivers = 100;
  int car_megabytes = 50;
  // Upgrades under load.
  int upgrade_callers = 16;
  int upgrade_resources = 200;
  absl::Duration upgrade_baseline = absl::Seconds(5);
  absl::Duration upgrade_probation = absl::Seconds(3);
  // Re-adoption after kill -9 of the daemon, with 4 drivers.
  int readopt_rounds = 10;
};

inline void Emit(absl::string_view metric, double value, absl::string_view unit,
                 const std::string& extra = "") {
  std::ostringstream line;
  line.precision(4);
  line << std::fixed;
  line << "{\"metric\": \"" << metric << "\", \"value\": " << value
       << ", \"unit\": \"" << unit << "\"" << extra << "}";
  std::cout << line.str() << std::endl;
}

// The `first_errors` detail field of a load's summary, quotes and
// backslashes made safe for the JSON line.
inline std::string FirstErrors(const LoadSummary& summary) {
  std::string errors;
  for (const std::string& e : summary.first_errors) {
    absl::StrAppend(&errors, errors.empty() ? "" : "; ",
                    absl::StrReplaceAll(e, {{"\"", "'"}, {"\\", "/"}}));
  }
  return ", \"first_errors\": \"" + errors + "\"";
}

inline std::string Detail(absl::string_view key, double value) {
  std::ostringstream s;
  s.precision(4);
  s << std::fixed << ", \"" << key << "\": " << value;
  return s.str();
}

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

class TempDir {
 public:
  TempDir() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-bench-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Packs a bench-driver CAR named `name` into `cars_dir`, optionally with a
// large incompressible resource.
inline void MakeBenchCar(const fs::path& cars_dir, const std::string& name,
                         size_t blob_bytes = 0) {
  TempDir stage;
  fs::create_directories(stage.path() / "META-INF");
  fs::create_directories(stage.path() / "bin");
  std::string yaml = absl::StrReplaceAll(ReadFile(BENCH_DRIVER_YAML),
                                         {{"name: bench", "name: " + name}});
  std::ofstream(stage.path() / "META-INF" / "driver.yaml") << yaml;
  fs::copy_file(BENCH_DRIVER_PATH, stage.path() / "bin" / "bench-driver");
  if (blob_bytes > 0) {
    fs::create_directories(stage.path() / "resources");
    std::ofstream blob(stage.path() / "resources" / "blob.bin",
                       std::ios::binary);
    std::mt19937_64 rng(42);
    std::vector<uint64_t> chunk(1 << 16);
    for (size_t written = 0; written < blob_bytes;
         written += chunk.size() * sizeof(uint64_t)) {
      for (auto& x : chunk) x = rng();
      blob.write(reinterpret_cast<const char*>(chunk.data()),
                 chunk.size() * sizeof(uint64_t));
    }
  }
  fs::create_directories(cars_dir);
  absl::Status s =
      PackCar(stage.path().string(), (cars_dir / (name + ".car")).string());
  if (!s.ok()) {
    std::cerr << "pitstop-bench: " << s.message() << "\n";
    std::exit(1);
  }
}

inline std::shared_ptr<grpc::Channel> UnixChannel(const std::string& path) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix:" + path,
                                   grpc::InsecureChannelCredentials(), args);
}

// pitstopd's environment.
inline std::vector<std::string> DaemonEnv() { return {"PATH=/usr/bin:/bin"}; }

// pitstopd's log level: warning, or PITSTOP_BENCH_LOG_LEVEL (debug shows
// each sandboxed launch's phases).
inline std::string DaemonLogLevel() {
  const char* level = getenv("PITSTOP_BENCH_LOG_LEVEL");
  return level != nullptr ? level : "warning";
}

// A running pitstopd over a drivers directory.
class Daemon {
 public:
  // `extra`: more flags (--take-over).
  Daemon(ChildProcessManager& launcher, const fs::path& dir,
         const fs::path& cars, const std::vector<std::string>& extra = {})
      : launcher_(launcher), socket_((dir / "pitstopd.sock").string()) {
    std::vector<std::string> args = {"--listen",      "unix:" + socket_,
                                     "--state-dir",   (dir / "state").string(),
                                     "--drivers-dir", cars.string(),
                                     "--log-level",   DaemonLogLevel()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto pid = launcher_.Launch(
        LaunchSpec{PITSTOPD_PATH, args, DaemonEnv(), dir.string(), {}},
        [](OutputStream, absl::string_view line) {
          std::cerr << "pitstopd: " << line << "\n";
        },
        [this](const ExitInfo&) {
          absl::MutexLock lock(&mu_);
          exited_ = true;
        });
    if (!pid.ok()) {
      std::cerr << "pitstop-bench: " << pid.status().message() << "\n";
      std::exit(1);
    }
    pid_ = *pid;
    channel_ = UnixChannel(socket_);
    admin_ = sv1::AdminService::NewStub(channel_);
  }
  ~Daemon() {
    (void)launcher_.Signal(pid_, SIGTERM);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&exited_), absl::Seconds(60));
  }

  // SIGKILL, as a crash would; returns once it has exited.
  void Kill() {
    (void)launcher_.Signal(pid_, SIGKILL);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&exited_), absl::Seconds(10));
  }

  // Waits until the daemon exits by itself; false after `timeout`.
  bool AwaitExit(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&exited_), timeout);
  }

  // Waits until `count` drivers are READY.
  void AwaitReady(int count, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(absl::ToChronoTime(deadline));
      sv1::ListDriversResponse list;
      if (admin_->ListDrivers(&ctx, {}, &list).ok()) {
        int ready = 0;
        for (const auto& d : list.drivers()) {
          ready += d.state() == sv1::DRIVER_STATE_READY;
        }
        if (ready >= count) return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    std::cerr << "pitstop-bench: drivers did not become READY\n";
    std::exit(1);
  }

  sv1::Driver Get(const std::string& name) {
    grpc::ClientContext ctx;
    sv1::GetDriverRequest req;
    req.set_name(name);
    sv1::Driver d;
    (void)admin_->GetDriver(&ctx, req, &d);
    return d;
  }

  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  sv1::AdminService::Stub& admin() { return *admin_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }

 private:
  ChildProcessManager& launcher_;
  std::string socket_;
  pid_t pid_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<sv1::AdminService::Stub> admin_;
  absl::Mutex mu_;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
};

// One caller's view of the bench driver: directly or through the daemon.
class Caller {
 public:
  Caller(const std::string& socket, std::string driver)
      : stub_(dv1::StorageService::NewStub(UnixChannel(socket))),
        driver_(std::move(driver)) {}

  // With `operation_id`, as a management server sends its calls.
  bool Call(absl::Duration timeout = absl::Seconds(10),
            const std::string& operation_id = "") {
    grpc::ClientContext ctx;
    if (!driver_.empty()) ctx.AddMetadata("pitstop-driver", driver_);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    dv1::GetStorageCapabilitiesRequest req;
    if (!operation_id.empty()) {
      req.mutable_context()->set_operation_id(operation_id);
    }
    dv1::GetStorageCapabilitiesResponse resp;
    return stub_->GetCapabilities(&ctx, req, &resp).ok();
  }

  // Waits for the daemon to be there (gRPC wait-for-ready), then calls.
  bool CallWhenReady(absl::Duration timeout) {
    grpc::ClientContext ctx;
    if (!driver_.empty()) ctx.AddMetadata("pitstop-driver", driver_);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    ctx.set_wait_for_ready(true);
    dv1::GetStorageCapabilitiesRequest req;
    dv1::GetStorageCapabilitiesResponse resp;
    return stub_->GetCapabilities(&ctx, req, &resp).ok();
  }

 private:
  std::unique_ptr<dv1::StorageService::Stub> stub_;
  std::string driver_;
};

// Latencies in microseconds of `calls` sequential calls, alternating blocks
// between the two callers so that drift hits both alike.
inline void MeasureLatency(Caller& direct, Caller& routed, int calls,
                           std::vector<double>* direct_us,
                           std::vector<double>* routed_us) {
  for (int i = 0; i < 500; ++i) {
    direct.Call();
    routed.Call();
  }
  constexpr int kBlock = 500;
  for (int done = 0; done < calls; done += kBlock) {
    for (auto [caller, out] :
         {std::pair{&direct, direct_us}, std::pair{&routed, routed_us}}) {
      for (int i = 0; i < kBlock; ++i) {
        const absl::Time start = absl::Now();
        if (!caller->Call()) {
          std::cerr << "pitstop-bench: a call failed\n";
          std::exit(1);
        }
        out->push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
      }
    }
  }
}

// Closed-loop load: `threads` callers, each on its own connection, each
// with one call in flight at a time.
class Load {
 public:
  Load(const std::string& socket, const std::string& driver, int threads) {
    for (int i = 0; i < threads; ++i) {
      callers_.push_back(std::make_unique<Caller>(socket, driver));
      for (int w = 0; w < 50; ++w) callers_.back()->Call();
    }
  }

  // Runs every caller for `duration`; returns the calls made.
  int64_t Run(absl::Duration duration) {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> total{0};
    std::vector<std::thread> workers;
    for (auto& caller : callers_) {
      workers.emplace_back([&, c = caller.get()] {
        int64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) n += c->Call();
        total += n;
      });
    }
    absl::SleepFor(duration);
    stop = true;
    for (auto& w : workers) w.join();
    return total.load();
  }

 private:
  std::vector<std::unique_ptr<Caller>> callers_;
};

// CPU time (user + system) a process has used so far, in microseconds.
inline double CpuMicros(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name, which may hold spaces: state is field 3,
  // utime 14 and stime 15.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace pitstop::bench

#endif  // PITSTOP_BENCH_BENCH_SUPPORT_H_
