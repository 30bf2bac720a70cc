#include "supervisor/daemon/daemon.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/clock.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/install/installer.h"
#include "supervisor/install/update_announcer.h"
#include "supervisor/repo/repository_set.h"
#include "supervisor/rpc/admin_service.h"
#include "supervisor/rpc/frame_router.h"
#include "supervisor/rpc/grpc_driver_endpoint.h"
#include "supervisor/sandbox/child_process_manager.h"
#include "supervisor/sandbox/instance_files.h"
#include "supervisor/sandbox/keeper_client.h"
#include "supervisor/sandbox/leftovers.h"
#include "supervisor/store/sqlite_repository_store.h"
#include "supervisor/store/sqlite_state_store.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// Holds an exclusive lock on the state directory for the daemon's lifetime,
// so two daemons never share one.
absl::StatusOr<int> LockStateDir(const std::string& state_dir) {
  const std::string path = (fs::path(state_dir) / "pitstopd.lock").string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot open ", path, ": ", std::strerror(errno),
        "; run pitstopd as a user who may write the state directory"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "another pitstopd is using the state directory ", state_dir, " (", path,
        " is locked); stop it or choose another --state-dir"));
  }
  return fd;
}

// The state directory's layout, fresh for this run: run/ holds only this
// daemon's instances.
absl::Status PrepareStateDir(const std::string& state_dir) {
  std::error_code ec;
  for (const char* sub : {"", "packages", "run", "data"}) {
    fs::create_directories(fs::path(state_dir) / sub, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", (fs::path(state_dir) / sub).string(),
                       ": ", ec.message()));
    }
  }
  // Search only: without a private root (best-effort sandbox) a driver's
  // own uid must reach its instance directory (0700, its own) through here.
  ::chmod((fs::path(state_dir) / "run").c_str(), 0711);
  return absl::OkStatus();
}

// Removes the instance directories of an earlier run but those of the
// instances this daemon took back.
void ClearRunDir(const std::string& state_dir,
                 const std::vector<Supervisor::Adopted>& adopted) {
  std::set<fs::path> keep;
  for (const Supervisor::Adopted& a : adopted) {
    keep.insert(fs::path(state_dir) / "run" / a.driver /
                std::to_string(a.instance_id));
  }
  std::error_code ec;
  for (const auto& driver :
       fs::directory_iterator(fs::path(state_dir) / "run", ec)) {
    std::error_code inner;
    bool kept_any = false;
    for (const auto& instance : fs::directory_iterator(driver.path(), inner)) {
      if (keep.count(instance.path()) > 0) {
        kept_any = true;
      } else {
        fs::remove_all(instance.path(), inner);
      }
    }
    if (!kept_any) fs::remove_all(driver.path(), inner);
  }
}

SandboxOptions SandboxOptionsFor(const DaemonConfig& config) {
  SandboxOptions sandbox;
  sandbox.mode = config.sandbox == "strict" ||
                         (config.sandbox == "auto" && ::geteuid() == 0)
                     ? SandboxMode::kStrict
                     : SandboxMode::kBestEffort;
  sandbox.scratch_dir = (fs::path(config.state_dir) / "sandbox").string();
  sandbox.uid_base = config.sandbox_uid_base;
  sandbox.keeper_dir = (fs::path(config.state_dir) / "keepers").string();
  return sandbox;
}

void LogSandbox(const SandboxOptions& sandbox,
                const ChildProcessManager& launcher) {
  const bool strict = sandbox.mode == SandboxMode::kStrict;
  LogInfo("pitstopd", "driver sandbox",
          {{"mode", strict ? "strict" : "best-effort"},
           {"host", launcher.host().Summary()}});
  for (const std::string& gap : launcher.host().Gaps()) {
    if (strict) {
      LogError("pitstopd", absl::StrCat("sandbox protection unavailable: ", gap,
                                        " (strict: drivers will be refused)"));
    } else {
      LogWarning("pitstopd",
                 absl::StrCat("sandbox protection unavailable: ", gap,
                              " (best-effort: drivers run without it)"));
    }
  }
}

SupervisorOptions SupervisorOptionsFor(const DaemonConfig& config) {
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
  return options;
}

FetchOptions FetchOptionsFor(const DaemonConfig& config) {
  FetchOptions fetch;
  fetch.trust_dir = config.trust_dir;
  fetch.max_index_bytes = config.repo_max_index_bytes;
  fetch.timeout = config.repo_fetch_timeout;
  fetch.stall_timeout = config.repo_stall_timeout;
  return fetch;
}

}  // namespace

// Every part of the daemon, in the order they are made (and destroyed in
// reverse).
struct Daemon::Parts {
  explicit Parts(DaemonConfig c) : config(std::move(c)) {}
  ~Parts() {
    if (lock_fd >= 0) ::close(lock_fd);
  }

  const DaemonConfig config;
  int lock_fd = -1;
  std::unique_ptr<SqliteStateStore> state_store;
  std::unique_ptr<SqliteRepositoryStore> repo_store;
  RealClock clock;
  EventLog events{clock};
  std::unique_ptr<ChildProcessManager> launcher;
  GrpcDriverEndpointFactory endpoints;
  DiskInstanceFiles instance_files;
  std::unique_ptr<Supervisor> supervisor;
  std::unique_ptr<Installer> installer;
  std::unique_ptr<RepositorySet> repositories;
  std::unique_ptr<UpdateAnnouncer> updates;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<FrameRouter> router;
  std::string address;
  std::unique_ptr<grpc::Server> server;
};

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Daemon::~Daemon() = default;

const std::string& Daemon::address() const { return parts_->address; }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(DaemonConfig config) {
  auto p = std::make_unique<Parts>(std::move(config));
  const DaemonConfig& c = p->config;
  RETURN_IF_ERROR(PrepareStateDir(c.state_dir));
  ASSIGN_OR_RETURN(p->lock_fd, LockStateDir(c.state_dir));
  RETURN_IF_ERROR(
      PrepareKeeperDir((fs::path(c.state_dir) / "keepers").string()));
  const std::string db = (fs::path(c.state_dir) / "pitstopd.db").string();
  ASSIGN_OR_RETURN(p->state_store, SqliteStateStore::Open(db));
  ASSIGN_OR_RETURN(p->repo_store, SqliteRepositoryStore::Open(db));

  const SandboxOptions sandbox = SandboxOptionsFor(c);
  p->launcher = std::make_unique<ChildProcessManager>(sandbox);
  LogSandbox(sandbox, *p->launcher);
  p->supervisor = std::make_unique<Supervisor>(
      *p->launcher, p->endpoints, p->instance_files, p->clock, p->events,
      SupervisorOptionsFor(c));
  p->supervisor->SetStore(p->state_store.get());
  p->installer = std::make_unique<Installer>(
      *p->supervisor,
      InstallerOptions{c.drivers_dir,
                       (fs::path(c.state_dir) / "packages").string(),
                       TrustPolicy{c.require_signed, c.trust_dir}});
  p->installer->LoadAll();
  ASSIGN_OR_RETURN(auto saved, p->state_store->Load());
  p->supervisor->RestoreDesiredState(saved);
  // The instances an earlier daemon left with their keepers serve on; any
  // other process still alive from it is killed, and the rest of its
  // instance directories removed.
  const std::vector<Supervisor::Adopted> adopted =
      p->supervisor->AdoptSurvivors();
  std::set<pid_t> adopted_pids;
  for (const Supervisor::Adopted& a : adopted) adopted_pids.insert(a.pid);
  KillLeftovers(c.state_dir, adopted_pids);
  ClearRunDir(c.state_dir, adopted);

  // Driver repositories (docs/repository.md), their state beside the
  // desired state.
  p->repositories = std::make_unique<RepositorySet>(p->clock, *p->repo_store,
                                                    FetchOptionsFor(c));
  RETURN_IF_ERROR(p->repositories->Load(c.repositories));
  p->updates = std::make_unique<UpdateAnnouncer>(*p->supervisor, p->events,
                                                 *p->repositories);
  p->admin =
      std::make_unique<AdminService>(*p->supervisor, p->events, *p->installer);
  p->admin->SetRepositories(p->repositories.get(), p->updates.get());

  // pitstopd's address is served by the frame router: routed calls go to
  // drivers frame by frame, every other stream to the in-process gRPC
  // server, which has no listening port of its own.
  if (absl::StartsWith(c.listen, "unix:")) {
    std::error_code ec;
    fs::create_directories(fs::path(c.listen.substr(5)).parent_path(), ec);
  }
  FrameRouterOptions router_options;
  router_options.default_call_timeout = c.default_call_timeout;
  p->router = std::make_unique<FrameRouter>(*p->supervisor, router_options);
  ASSIGN_OR_RETURN(p->address, p->router->Listen(c.listen));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(p->admin.get());
  p->server = builder.BuildAndStart();
  if (!p->server) return absl::InternalError("cannot start the admin service");
  p->router->Start(p->server.get());
  LogInfo("pitstopd", "serving",
          {{"address", p->address}, {"state_dir", c.state_dir}});
  return std::unique_ptr<Daemon>(new Daemon(std::move(p)));
}

void Daemon::Serve() {
  parts_->supervisor->Run();
  parts_->supervisor->StartAll();
  LogInfo("pitstopd", "drivers started");
  // Repository indexes are refreshed now and then; new versions of
  // installed drivers become "update-available" events.
  parts_->updates->Start(parts_->config.repo_refresh_interval);
}

void Daemon::Shutdown() {
  Parts& p = *parts_;
  // New routed calls are refused at once; calls in flight get two seconds.
  // gRPC's own Shutdown(deadline) would also wait for idle client
  // connections to close, so the daemon waits for its calls itself.
  p.router->BeginShutdown();
  if (!p.router->AwaitIdle(absl::Now() + absl::Seconds(2))) {
    LogWarning("pitstopd",
               "routed calls still running after 2s; cancelling them");
  }
  p.repositories->Cancel();  // a slow download must not hold up the exit
  p.updates->Stop();
  p.server->Shutdown(absl::ToChronoTime(absl::Now()));
  // Calls still parked waiting for a driver are answered as drivers stop;
  // the router's loop runs until then.
  p.supervisor->StopAll();
  p.router->Stop();
  LogInfo("pitstopd", "stopped",
          {{"children", std::to_string(p.launcher->LiveChildren())}});
}

}  // namespace pitstop
