// pitstopd: the driver supervisor daemon. The only place that picks concrete
// implementations: the real clock, the process manager, gRPC endpoints.

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "supervisor/common/clock.h"
#include "supervisor/common/logging.h"
#include "supervisor/config/daemon_config.h"
#include "supervisor/core/package_loader.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/repo/repository_set.h"
#include "supervisor/rpc/admin_service.h"
#include "supervisor/rpc/frame_router.h"
#include "supervisor/rpc/grpc_driver_endpoint.h"
#include "supervisor/sandbox/child_process_manager.h"
#include "supervisor/sandbox/host_sandbox.h"
#include "supervisor/sandbox/instance_files.h"
#include "supervisor/sandbox/pid_file.h"
#include "supervisor/store/sqlite_repository_store.h"
#include "supervisor/store/sqlite_state_store.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

int Fail(absl::string_view message) {
  LogError("pitstopd", message);
  return 1;
}

// Holds an exclusive lock on the state directory for the daemon's lifetime,
// so two daemons never share one.
absl::StatusOr<int> LockStateDir(const std::string& state_dir) {
  const std::string path = (fs::path(state_dir) / "pitstopd.lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "another pitstopd is using the state directory ", state_dir, " (", path,
        " is locked); stop it or choose another --state-dir"));
  }
  return fd;
}

// Kills processes that a previous daemon on this state directory started and
// that are still alive: each instance directory holds its pid, and a process
// counts only if its executable lies under <state-dir>/packages.
void KillLeftovers(const std::string& state_dir) {
  std::error_code ec;
  const std::string packages =
      fs::weakly_canonical(fs::path(state_dir) / "packages", ec).string();
  // Exactly run/<driver>/<instance>/pid: an instance directory may belong
  // to its driver, so nothing deeper is looked at, and the pid file must be
  // a regular file of ours (ReadPidFile).
  for (const auto& driver :
       fs::directory_iterator(fs::path(state_dir) / "run", ec)) {
    if (!driver.is_directory(ec) || driver.is_symlink(ec)) continue;
    std::error_code inner_ec;
    for (const auto& instance : fs::directory_iterator(driver, inner_ec)) {
      if (!instance.is_directory(inner_ec) || instance.is_symlink(inner_ec)) {
        continue;
      }
      const pid_t pid = ReadPidFile((instance.path() / "pid").string());
      if (pid <= 1) continue;
      std::error_code exe_ec;
      const std::string exe =
          fs::read_symlink(absl::StrCat("/proc/", pid, "/exe"), exe_ec)
              .string();
      // A sandboxed driver sees its CAR at /driver, in a PID namespace of
      // its own (killing it ends the namespace).
      std::error_code ns_ec;
      const bool sandboxed =
          !exe_ec && absl::StartsWith(exe, "/driver/") &&
          fs::read_symlink(absl::StrCat("/proc/", pid, "/ns/pid"), ns_ec) !=
              fs::read_symlink("/proc/self/ns/pid", ns_ec);
      if (exe_ec || (!absl::StartsWith(exe, packages) && !sandboxed)) continue;
      LogWarning("pitstopd",
                 "killing a driver process left by an earlier daemon",
                 {{"pid", std::to_string(pid)}, {"exe", exe}});
      ::kill(pid, SIGKILL);
    }
  }
}

int Run(int argc, char** argv) {
  // Debian's Abseil is built with Mutex deadlock detection on, which records
  // a stack trace on every lock: a large share of a routed call's CPU time.
  // The thread-safety annotations, checked at compile time, do that job.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{
      "pitstopd: runs drivers as sandboxed child processes and "
      "routes calls to them"};
  std::string config_path, listen, state_dir, drivers_dir, log_level;
  bool print_config = false;
  app.add_option("--config", config_path, "YAML configuration file")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", listen,
                 "address to serve on: unix:/PATH or HOST:PORT");
  app.add_option("--state-dir", state_dir,
                 "directory for unpacked drivers, sockets and driver data");
  app.add_option("--drivers-dir", drivers_dir,
                 "directory whose *.car files are loaded at start-up");
  app.add_option("--log-level", log_level, "debug, info, warning or error");
  std::string trust_dir;
  bool require_signed = false;
  app.add_option("--trust-dir", trust_dir,
                 "directory of trusted root certificates for CAR signatures");
  app.add_flag("--require-signed", require_signed,
               "refuse CARs without a valid signature");
  std::string sandbox_mode;
  app.add_option("--sandbox", sandbox_mode,
                 "driver sandbox: strict, best-effort or auto");
  app.add_flag("--print-default-config", print_config,
               "print the embedded default configuration and exit");
  bool check_sandbox = false;
  app.add_flag("--check-sandbox", check_sandbox,
               "print which driver protections this host allows and exit: "
               "0 when all of them, 3 when some are missing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (print_config) {
    std::cout << kDefaultDaemonConfig;
    return 0;
  }
  if (check_sandbox) {
    std::string t =
        (fs::temp_directory_path() / "pitstopd-check-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr)
      return Fail("cannot create a temporary directory");
    const HostSandboxSupport host = DetectHostSandboxSupport(t);
    std::error_code ec;
    fs::remove_all(t, ec);
    std::cout << host.Summary() << "\n";
    for (const std::string& gap : host.Gaps())
      std::cout << "missing: " << gap << "\n";
    return host.Gaps().empty() ? 0 : 3;
  }

  auto loaded = LoadDaemonConfig(config_path);
  if (!loaded.ok()) return Fail(loaded.status().message());
  DaemonConfig config = *loaded;
  std::string overrides;
  if (!listen.empty()) absl::StrAppend(&overrides, "listen: '", listen, "'\n");
  if (!state_dir.empty()) {
    absl::StrAppend(&overrides, "state_dir: '",
                    fs::absolute(state_dir).lexically_normal().string(), "'\n");
  }
  if (!trust_dir.empty()) {
    absl::StrAppend(&overrides, "trust_dir: '",
                    fs::absolute(trust_dir).lexically_normal().string(), "'\n");
  }
  if (require_signed) absl::StrAppend(&overrides, "require_signed: true\n");
  if (!drivers_dir.empty()) {
    absl::StrAppend(&overrides, "drivers_dir: '",
                    fs::absolute(drivers_dir).lexically_normal().string(),
                    "'\n");
  }
  if (!log_level.empty()) {
    absl::StrAppend(&overrides, "log_level: '", log_level, "'\n");
  }
  if (!sandbox_mode.empty()) {
    absl::StrAppend(&overrides, "sandbox: '", sandbox_mode, "'\n");
  }
  auto with_flags = ParseDaemonConfig(overrides, "<command line>", config);
  if (!with_flags.ok()) return Fail(with_flags.status().message());
  config = *with_flags;
  SetMinLogLevel(config.log_level);

  // Signals are taken synchronously by sigwait below; every thread created
  // from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  for (const char* sub : {"", "packages", "run", "data"}) {
    fs::create_directories(fs::path(config.state_dir) / sub, ec);
    if (ec) {
      return Fail(absl::StrCat("cannot create ",
                               (fs::path(config.state_dir) / sub).string(),
                               ": ", ec.message()));
    }
  }
  // Search only: without a private root (best-effort sandbox) a driver's
  // own uid must reach its instance directory (0700, its own) through here.
  ::chmod((fs::path(config.state_dir) / "run").c_str(), 0711);
  auto lock = LockStateDir(config.state_dir);
  if (!lock.ok()) return Fail(lock.status().message());
  // Instance directories of an earlier run are stale; any process still
  // alive from it (its parent-death signal should have ended it) is killed.
  KillLeftovers(config.state_dir);
  for (const auto& entry :
       fs::directory_iterator(fs::path(config.state_dir) / "run", ec)) {
    fs::remove_all(entry.path(), ec);
  }

  auto store = SqliteStateStore::Open(
      (fs::path(config.state_dir) / "pitstopd.db").string());
  if (!store.ok()) return Fail(store.status().message());

  SandboxOptions sandbox;
  sandbox.mode = config.sandbox == "strict" ||
                         (config.sandbox == "auto" && ::geteuid() == 0)
                     ? SandboxMode::kStrict
                     : SandboxMode::kBestEffort;
  sandbox.scratch_dir = (fs::path(config.state_dir) / "sandbox").string();
  sandbox.uid_base = config.sandbox_uid_base;
  ChildProcessManager launcher(sandbox);
  LogInfo("pitstopd", "driver sandbox",
          {{"mode",
            sandbox.mode == SandboxMode::kStrict ? "strict" : "best-effort"},
           {"host", launcher.host().Summary()}});
  for (const std::string& gap : launcher.host().Gaps()) {
    if (sandbox.mode == SandboxMode::kStrict) {
      LogError("pitstopd", absl::StrCat("sandbox protection unavailable: ", gap,
                                        " (strict: drivers will be refused)"));
    } else {
      LogWarning("pitstopd",
                 absl::StrCat("sandbox protection unavailable: ", gap,
                              " (best-effort: drivers run without it)"));
    }
  }
  GrpcDriverEndpointFactory endpoints;
  RealClock clock;
  SupervisorOptions options;
  options.run_dir = (fs::path(config.state_dir) / "run").string();
  options.data_dir = (fs::path(config.state_dir) / "data").string();
  options.max_route_wait = config.max_route_wait;
  options.restart.max_restarts = config.restart_max;
  options.restart.window = config.restart_window;
  options.restart.initial_backoff = config.restart_initial_backoff;
  options.restart.max_backoff = config.restart_max_backoff;
  options.health_interval = config.health_interval;
  options.health_failures = config.health_failures;
  options.degraded_grace = config.degraded_grace;
  options.upgrade_probation = config.upgrade_probation;
  options.sandbox.max_memory_mb = config.max_memory_mb;
  options.sandbox.max_pids = config.max_pids;
  options.sandbox.max_open_files = config.max_open_files;
  options.sandbox.network_grants = {config.network_grants.begin(),
                                    config.network_grants.end()};
  EventLog events(clock);
  DiskInstanceFiles instance_files;
  Supervisor supervisor(launcher, endpoints, instance_files, clock, events,
                        options);
  supervisor.SetStore(store->get());

  // Downloads from repositories that a previous daemon did not finish.
  for (const auto& entry : fs::directory_iterator(config.drivers_dir, ec)) {
    if (absl::StartsWith(entry.path().filename().string(), ".fetch-")) {
      fs::remove(entry.path(), ec);
    }
  }
  auto cars = ListCars(config.drivers_dir);
  if (!cars.ok()) {
    LogWarning("pitstopd", cars.status().message());
  } else {
    for (const std::string& car : *cars) {
      auto package =
          InstallCar(car, (fs::path(config.state_dir) / "packages").string(),
                     TrustPolicy{config.require_signed, config.trust_dir});
      if (!package.ok()) {
        // One bad archive must not keep the others from running.
        LogError("pitstopd", package.status().message(), {{"car", car}});
        continue;
      }
      package->grants = ReadGrants(car);
      const std::string name = package->manifest.name;
      const std::string version = package->manifest.version.ToString();
      const std::string signer = package->signer;
      if (absl::Status s = supervisor.AddDriver(*std::move(package)); !s.ok()) {
        LogError("pitstopd", absl::StrCat(car, ": ", s.message()),
                 {{"car", car}});
        continue;
      }
      LogInfo("pitstopd", "driver installed",
              {{"driver", name},
               {"version", version},
               {"car", car},
               {"signer", signer.empty() ? "(unsigned)" : signer}});
    }
  }

  auto saved = (*store)->Load();
  if (!saved.ok()) return Fail(saved.status().message());
  supervisor.RestoreDesiredState(*saved);

  if (absl::StartsWith(config.listen, "unix:")) {
    fs::create_directories(fs::path(config.listen.substr(5)).parent_path(), ec);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  AdminService admin(supervisor, events,
                     AdminService::InstallOptions{
                         config.drivers_dir,
                         (fs::path(config.state_dir) / "packages").string(),
                         TrustPolicy{config.require_signed, config.trust_dir}});
  // Driver repositories (docs/repository.md), their state beside the
  // desired state.
  auto repo_store = SqliteRepositoryStore::Open(
      (fs::path(config.state_dir) / "pitstopd.db").string());
  if (!repo_store.ok()) return Fail(repo_store.status().message());
  FetchOptions fetch_options;
  fetch_options.trust_dir = config.trust_dir;
  fetch_options.max_index_bytes = config.repo_max_index_bytes;
  fetch_options.timeout = config.repo_fetch_timeout;
  fetch_options.stall_timeout = config.repo_stall_timeout;
  RepositorySet repositories(clock, **repo_store, fetch_options);
  if (absl::Status s = repositories.Load(config.repositories); !s.ok()) {
    return Fail(s.message());
  }
  admin.SetRepositories(&repositories);
  // pitstopd's address is served by the frame router: routed calls go to
  // drivers frame by frame, every other stream to this in-process server,
  // which has no listening port of its own.
  FrameRouterOptions router_options;
  router_options.default_call_timeout = config.default_call_timeout;
  FrameRouter router(supervisor, router_options);
  absl::StatusOr<std::string> address = router.Listen(config.listen);
  if (!address.ok()) return Fail(address.status().message());
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return Fail("cannot start the admin service");
  router.Start(server.get());
  LogInfo("pitstopd", "serving",
          {{"address", *address}, {"state_dir", config.state_dir}});

  supervisor.Run();
  supervisor.StartAll();
  LogInfo("pitstopd", "drivers started");
  // Repository indexes are refreshed now and then; new versions of
  // installed drivers become "update-available" events.
  absl::Notification stop_refresh;
  std::thread refresher([&] {
    do {
      admin.CheckForUpdates();
    } while (!stop_refresh.WaitForNotificationWithTimeout(
        config.repo_refresh_interval));
  });

  int received = 0;
  sigwait(&signals, &received);
  LogInfo("pitstopd",
          absl::StrCat("received ", strsignal(received), "; stopping"));
  // New routed calls are refused at once; calls in flight get two seconds.
  // gRPC's own Shutdown(deadline) would also wait for idle client
  // connections to close, so the daemon waits for its calls itself.
  router.BeginShutdown();
  if (!router.AwaitIdle(absl::Now() + absl::Seconds(2))) {
    LogWarning("pitstopd",
               "routed calls still running after 2s; cancelling them");
  }
  stop_refresh.Notify();
  repositories.Cancel();  // a slow download must not hold up the exit
  refresher.join();
  server->Shutdown(absl::ToChronoTime(absl::Now()));
  // Calls still parked waiting for a driver are answered as drivers stop;
  // the router's loop runs until then.
  supervisor.StopAll();
  router.Stop();
  LogInfo("pitstopd", "stopped",
          {{"children", std::to_string(launcher.LiveChildren())}});
  return 0;
}

}  // namespace
}  // namespace pitstop

int main(int argc, char** argv) { return pitstop::Run(argc, argv); }
