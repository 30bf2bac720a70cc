#include "supervisor/daemon/daemon.h"

#include <fcntl.h>
#include <grp.h>
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
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.grpc.pb.h"
#include "pitstop/driver/v1/network.grpc.pb.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "supervisor/common/clock.h"
#include "supervisor/common/local_socket.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/periodic_thread.h"
#include "supervisor/common/quoted.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/console/console.h"
#include "supervisor/core/call_history.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/daemon/daemon_metrics.h"
#include "supervisor/daemon/daemon_options.h"
#include "supervisor/daemon/handover.h"
#include "supervisor/daemon/service_manager.h"
#include "supervisor/install/installer.h"
#include "supervisor/install/update_announcer.h"
#include "supervisor/metrics/http_server.h"
#include "supervisor/repo/repository_set.h"
#include "supervisor/rpc/access_policy.h"
#include "supervisor/rpc/admin_service.h"
#include "supervisor/rpc/audit_interceptor.h"
#include "supervisor/rpc/audit_queue.h"
#include "supervisor/rpc/driver_health.h"
#include "supervisor/rpc/frame_router.h"
#include "supervisor/rpc/grpc_driver_endpoint.h"
#include "supervisor/sandbox/child_process_manager.h"
#include "supervisor/sandbox/instance_files.h"
#include "supervisor/sandbox/keeper_client.h"
#include "supervisor/sandbox/leftovers.h"
#include "supervisor/store/sqlite_audit_log.h"
#include "supervisor/store/sqlite_event_store.h"
#include "supervisor/store/sqlite_repository_store.h"
#include "supervisor/store/sqlite_state_store.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// How long a daemon handing over waits for the calls it forwards and for
// its clients to leave; calls still running then are cut.
constexpr absl::Duration kHandOverDrain = absl::Seconds(10);
// How long a new daemon waits for the one it replaces to let go: its drain
// and ten seconds more.
constexpr absl::Duration kHandOverRelease = absl::Seconds(20);
// What the new daemon gets to commit once the old one has drained.
constexpr absl::Duration kHandOverTake = absl::Seconds(5);

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
    const fs::path dir = fs::path(state_dir) / sub;
    // Search only, whatever the umask: without a private root
    // (best-effort sandbox) a driver's own uid reaches its package, its
    // instance directory and its data directory through these.
    if (fs::create_directories(dir, ec) || *sub != '\0') {
      ::chmod(dir.c_str(), 0711);
    }
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
    }
  }
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

// The Unix socket is 0660 with the configured group, whatever the umask.
void SecureSocket(const std::string& listen, const std::string& group_name) {
  if (!absl::StartsWith(listen, "unix:")) return;
  const std::string path = listen.substr(5);
  gid_t gid = ::getegid();
  if (const group* gr = ::getgrnam(group_name.c_str())) {
    gid = gr->gr_gid;
  } else {
    LogWarning("pitstopd",
               absl::StrCat("socket_group ", Quoted(group_name),
                            " does not exist on this host; the socket is "
                            "reachable only by pitstopd's own group"),
               {{"socket", path}});
  }
  if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0 ||
      ::chmod(path.c_str(), 0660) != 0) {
    LogWarning("pitstopd", absl::StrCat("cannot set the mode of ", path, ": ",
                                        std::strerror(errno)));
  }
}

}  // namespace

// Every part of the daemon, in the order they are made (and destroyed in
// reverse).
struct Daemon::Parts {
  explicit Parts(DaemonConfig c) : config(std::move(c)) {}
  // The hand-over door's: one request at a time.
  void Offer(HandoverRequest request) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    if (pending || stop_requested) {
      SendRefusal(request.connection,
                  pending ? "another pitstopd is taking over already"
                          : "this pitstopd is stopping");
      ::close(request.connection);
      return;
    }
    pending = request;
  }

  // Stops everything of this daemon that could act on a driver, and lets
  // the drivers go to their keepers, running (a hand-over, or Detach).
  void ReleaseDrivers() {
    if (console) console->Shutdown();  // its long polls end
    metrics.reset();                   // its port, free for the next pitstopd
    StopWatchdog();
    repositories->Cancel();
    updates->Stop();
    server->Shutdown(absl::ToChronoTime(absl::Now()));
    supervisor->Halt();
    launcher->Release();
    ::close(lock_fd);
    lock_fd = -1;
  }

  ~Parts() {
    if (console) console->Shutdown();
    StopWatchdog();
    door.reset();
    if (pending) ::close(pending->connection);
    if (lock_fd >= 0) ::close(lock_fd);
  }

  const DaemonConfig config;
  int lock_fd = -1;
  std::unique_ptr<SqliteStateStore> state_store;
  std::unique_ptr<SqliteRepositoryStore> repo_store;
  std::unique_ptr<SqliteAuditLog> audit;
  std::unique_ptr<AuditQueue> audit_queue;        // the router's refusals
  std::unique_ptr<SqliteEventStore> event_store;  // outlives `events`
  RealClock clock;
  EventLog events{clock, config.events_max_count};
  std::unique_ptr<ChildProcessManager> launcher;
  GrpcDriverEndpointFactory endpoints;
  DiskInstanceFiles instance_files;
  // count_calls; outlives the supervisor (canary gates) and the router.
  std::unique_ptr<CallStats> call_stats;
  std::unique_ptr<Supervisor> supervisor;
  std::unique_ptr<Installer> installer;
  std::unique_ptr<RepositorySet> repositories;
  std::unique_ptr<UpdateAnnouncer> updates;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<CallHistory> call_history;     // of call_stats
  std::unique_ptr<PeriodicThread> call_sampler;  // samples call_history
  std::unique_ptr<FrameRouter> router;
  std::string address;
  // For reflection's ListServices only (see Create).
  pitstop::driver::v1::StorageService::Service listed_storage;
  pitstop::driver::v1::NetworkService::Service listed_network;
  pitstop::driver::v1::HypervisorService::Service listed_hypervisor;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<DriverHealth> health;  // the drivers in server's health
  std::unique_ptr<Console> console;
  std::unique_ptr<HttpServer> metrics;  // metrics_listen: /metrics, console

  // What Wait waits for.
  absl::Mutex mu;
  bool stop_requested ABSL_GUARDED_BY(mu) = false;
  std::optional<HandoverRequest> pending ABSL_GUARDED_BY(mu);
  std::unique_ptr<HandoverDoor> door;

  // systemd: readiness, status, the watchdog thread.
  ServiceManager service;
  bool watchdog_stop ABSL_GUARDED_BY(mu) = false;
  std::thread watchdog;

  // "4 drivers READY", "3 of 4 drivers READY, 1 FAILED".
  std::string DriversStatus() {
    size_t ready = 0, failed = 0;
    const std::vector<DriverStatus> all = supervisor->List();
    for (const DriverStatus& d : all) {
      ready += d.state == DriverState::kReady ? 1 : 0;
      failed += d.state == DriverState::kFailed ? 1 : 0;
    }
    std::string out =
        ready == all.size()
            ? absl::StrCat(ready, ready == 1 ? " driver" : " drivers", " READY")
            : absl::StrCat(ready, " of ", all.size(), " drivers READY");
    if (failed > 0) absl::StrAppend(&out, ", ", failed, " FAILED");
    return out;
  }

  // Pings systemd's watchdog while both loops answer: the supervisor's
  // lock is taken (List) and the router's loop runs a task (Ping). A
  // deadlock or a stuck loop stops the pings, and systemd restarts the
  // daemon (drivers run on under their keepers).
  void RunWatchdog(absl::Duration interval) ABSL_LOCKS_EXCLUDED(mu) {
    std::string last_status;
    while (true) {
      {
        absl::MutexLock lock(&mu);
        auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
          return watchdog_stop;
        };
        if (mu.AwaitWithTimeout(absl::Condition(&stop), interval / 2)) return;
      }
      const std::string status = DriversStatus();
      router->Ping();
      service.Watchdog();
      if (status != last_status) service.Status(status);
      last_status = status;
    }
  }
  void StopWatchdog() ABSL_LOCKS_EXCLUDED(mu) {
    {
      absl::MutexLock lock(&mu);
      watchdog_stop = true;
    }
    if (watchdog.joinable()) watchdog.join();
  }
};

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Daemon::~Daemon() = default;

const std::string& Daemon::address() const { return parts_->address; }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(DaemonConfig config,
                                                       bool take_over) {
  auto p = std::make_unique<Parts>(std::move(config));
  const DaemonConfig& c = p->config;
  ASSIGN_OR_RETURN(std::shared_ptr<const TlsServerContext> tls,
                   ListenerTlsFor(c));
  ASSIGN_OR_RETURN(std::shared_ptr<const AccessPolicy> access,
                   AccessPolicyFor(c));
  RETURN_IF_ERROR(PrepareStateDir(c.state_dir));
  std::optional<Predecessor> predecessor;
  if (take_over) {
    absl::StatusOr<Predecessor> asked = Predecessor::Ask(
        HandoverSocketPath(c.state_dir), absl::Now() + absl::Seconds(5));
    if (!asked.ok()) return asked.status();
    predecessor.emplace(*std::move(asked));
    LogInfo("pitstopd", "taking over",
            {{"from_pid", std::to_string(predecessor->pid())},
             {"address", predecessor->address()}});
    if (absl::Status s =
            predecessor->AwaitReleased(absl::Now() + kHandOverRelease);
        !s.ok()) {
      return absl::UnavailableError(absl::StrCat("--take-over: ", s.message()));
    }
  }
  ASSIGN_OR_RETURN(p->lock_fd, LockStateDir(c.state_dir));
  // Taken before anything else could inherit or close fd 3.
  ASSIGN_OR_RETURN(const int activated, TakeActivatedSocket());
  RETURN_IF_ERROR(
      PrepareKeeperDir((fs::path(c.state_dir) / "keepers").string()));
  const std::string db = (fs::path(c.state_dir) / "pitstopd.db").string();
  ASSIGN_OR_RETURN(p->state_store, SqliteStateStore::Open(db));
  ASSIGN_OR_RETURN(p->repo_store, SqliteRepositoryStore::Open(db));
  ASSIGN_OR_RETURN(p->audit, SqliteAuditLog::Open(db));
  ASSIGN_OR_RETURN(p->event_store,
                   SqliteEventStore::Open(
                       db, EventBounds{c.events_max_count, c.events_max_age}));
  if (absl::Status s = p->events.SetStore(p->event_store.get()); !s.ok()) {
    LogWarning("pitstopd", absl::StrCat(s.message(), "; starting without them"),
               {{"database", db}});
  }

  const SandboxOptions sandbox = SandboxOptionsFor(c);
  p->launcher = std::make_unique<ChildProcessManager>(sandbox);
  LogSandbox(sandbox, *p->launcher);
  SupervisorOptions supervisor_options = SupervisorOptionsFor(c);
  if (c.count_calls) {
    p->call_stats = std::make_unique<CallStats>(RoutedMethodNames());
    const CallStats* stats = p->call_stats.get();
    supervisor_options.call_totals = [stats](absl::string_view driver,
                                             absl::string_view version) {
      return stats->TotalsFor(driver, version);
    };
  }
  p->supervisor = std::make_unique<Supervisor>(
      *p->launcher, p->endpoints, p->instance_files, p->clock, p->events,
      std::move(supervisor_options));
  p->supervisor->SetStore(p->state_store.get());
  p->installer = std::make_unique<Installer>(
      *p->supervisor,
      InstallerOptions{c.drivers_dir,
                       (fs::path(c.state_dir) / "packages").string(),
                       TrustPolicy{c.require_signed, c.trust_dir}});
  // The default drivers directory is the daemon's own (inside the state
  // directory): a fresh install has it empty rather than missing.
  if (fs::path(c.drivers_dir)
          .lexically_relative(c.state_dir)
          .native()
          .rfind("..", 0) != 0) {
    std::error_code ec;
    fs::create_directories(c.drivers_dir, ec);
  }
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
  p->admin->SetAuditTrail(p->audit.get());

  // pitstopd's address is served by the frame router: routed calls go to
  // drivers frame by frame, every other stream to the in-process gRPC
  // server, which has no listening port of its own.
  if (absl::StartsWith(c.listen, "unix:")) {
    std::error_code ec;
    const fs::path parent = fs::path(c.listen.substr(5)).parent_path();
    // Clients of the socket's group must reach it: a directory made here
    // is 0755 whatever the umask (the socket itself is 0660).
    if (fs::create_directories(parent, ec)) ::chmod(parent.c_str(), 0755);
  }
  FrameRouterOptions router_options;
  router_options.default_call_timeout = c.default_call_timeout;
  router_options.limits = ListenerLimitsFor(c);
  router_options.access = std::move(access);
  router_options.tls = std::move(tls);
  p->audit_queue = std::make_unique<AuditQueue>(*p->audit);
  router_options.audit = p->audit_queue.get();
  if (c.count_calls) {
    router_options.call_stats = p->call_stats.get();
    p->call_history = std::make_unique<CallHistory>(*p->call_stats);
    CallHistory* history = p->call_history.get();
    history->Sample(absl::Now());
    p->call_sampler = std::make_unique<PeriodicThread>(
        absl::Seconds(1), [history] { history->Sample(absl::Now()); });
    p->admin->SetCallHistory(history);
  }
  p->router = std::make_unique<FrameRouter>(*p->supervisor, router_options);
  if (activated >= 0 && predecessor) ::close(activated);
  if (predecessor) {
    if (predecessor->address() != c.listen) {
      LogWarning(
          "pitstopd",
          "serving on the address taken over; the configured one "
          "applies from the next start without --take-over",
          {{"address", predecessor->address()}, {"configured", c.listen}});
    }
    p->router->ListenOn(predecessor->TakeListener());
    p->address = predecessor->address();
  } else if (activated >= 0) {
    // systemd's socket (pitstopd.socket): its SocketMode= and SocketGroup=
    // apply, and it outlives a crash of the daemon.
    p->router->ListenOn(activated);
    p->address = ListeningAddress(activated);
    LogInfo("pitstopd", "serving on the socket systemd passed",
            {{"address", p->address}});
  } else {
    ASSIGN_OR_RETURN(p->address, p->router->Listen(c.listen));
    SecureSocket(c.listen, c.socket_group);
  }
  if (!absl::StartsWith(p->address, "unix:") && router_options.tls == nullptr &&
      !c.insecure_tcp) {
    // A socket systemd or the previous daemon passed may be TCP although
    // `listen` is not.
    return absl::FailedPreconditionError(absl::StrCat(
        "serving on ", p->address,
        " (passed to pitstopd) needs TLS: set tls_cert, tls_key and "
        "tls_client_ca with a TCP listen address, or insecure_tcp: true"));
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(p->admin.get());
  // The category services, never called here (the router forwards their
  // calls to drivers), registered so that server reflection lists them.
  builder.RegisterService(&p->listed_storage);
  builder.RegisterService(&p->listed_network);
  builder.RegisterService(&p->listed_hypervisor);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<AuditInterceptorFactory>(*p->audit));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  p->server = builder.BuildAndStart();
  if (!p->server) return absl::InternalError("cannot start the admin service");
  p->health = std::make_unique<DriverHealth>(
      *p->supervisor, p->events, p->server->GetHealthCheckService());
  p->router->Start(p->server.get());
  Parts* parts = p.get();
  ASSIGN_OR_RETURN(p->door,
                   HandoverDoor::Open(HandoverSocketPath(c.state_dir),
                                      [parts](HandoverRequest request) {
                                        parts->Offer(request);
                                      }));
  if (!c.metrics_listen.empty()) {
    MetricsSources sources;
    sources.supervisor = p->supervisor.get();
    sources.calls = p->call_stats.get();
    sources.repositories = p->repositories.get();
    sources.updates = p->updates.get();
    p->console =
        std::make_unique<Console>(*p->admin, p->events, c.console_hosts);
    const Console* console = p->console.get();
    ASSIGN_OR_RETURN(
        p->metrics,
        HttpServer::Start(c.metrics_listen,
                          [sources, console](const HttpRequest& request) {
                            if (request.path != "/metrics")
                              return console->Handle(request);
                            HttpResponse out;
                            out.content_type = kPrometheusContentType;
                            out.body = CollectDaemonMetrics(sources);
                            return out;
                          }));
    LogInfo("pitstopd", "serving metrics",
            {{"metrics_address", p->metrics->address()}});
  }
  LogInfo("pitstopd", "serving",
          {{"address", p->address}, {"state_dir", c.state_dir}});
  return std::unique_ptr<Daemon>(new Daemon(std::move(p)));
}

void Daemon::Serve() {
  parts_->supervisor->Run();
  parts_->supervisor->StartAll();
  LogInfo("pitstopd", "drivers started");
  // Every driver that should start has started, or failed for its own
  // reasons.
  parts_->service.Ready(parts_->DriversStatus());
  if (std::optional<absl::Duration> interval =
          parts_->service.watchdog_interval()) {
    Parts* p = parts_.get();
    p->watchdog = std::thread([p, d = *interval] { p->RunWatchdog(d); });
  }
  // Repository indexes are refreshed now and then; new versions of
  // installed drivers become "update-available" events.
  parts_->updates->Start(parts_->config.repo_refresh_interval);
}

void Daemon::Detach() {
  Parts& p = *parts_;
  p.service.Stopping(
      absl::StrCat("exiting, drivers running: ", p.DriversStatus()));
  LogInfo("pitstopd", "exiting; the drivers run on for the next pitstopd");
  p.router->GoAway();
  const absl::Time deadline = absl::Now() + kHandOverDrain;
  if (!p.router->AwaitIdle(deadline) || !p.router->AwaitNoClients(deadline)) {
    LogWarning("pitstopd",
               absl::StrCat("calls or client connections still open after ",
                            absl::FormatDuration(kHandOverDrain),
                            " of draining; they are cut"));
  }
  p.ReleaseDrivers();
  p.router->Stop();
  LogInfo("pitstopd", "exited with the drivers running",
          {{"drivers", p.DriversStatus()}});
}

void Daemon::Shutdown() {
  Parts& p = *parts_;
  p.StopWatchdog();
  p.service.Stopping(absl::StrCat("stopping: ", p.DriversStatus()));
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

Daemon::Ending Daemon::Wait() {
  Parts& p = *parts_;
  absl::MutexLock lock(&p.mu);
  auto woken = [&p]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(p.mu) {
    return p.stop_requested || p.pending.has_value();
  };
  p.mu.Await(absl::Condition(&woken));
  return p.stop_requested ? Ending::kStop : Ending::kHandOver;
}

void Daemon::RequestStop() {
  absl::MutexLock lock(&parts_->mu);
  parts_->stop_requested = true;
}

bool Daemon::HandOver() {
  Parts& p = *parts_;
  HandoverRequest request;
  {
    absl::MutexLock lock(&p.mu);
    request = *p.pending;
  }
  auto finish = [&p, &request](bool handed_over) {
    absl::MutexLock lock(&p.mu);
    ::close(request.connection);
    p.pending.reset();
    return handed_over;
  };
  const std::string to_pid = std::to_string(request.pid);
  LogInfo("pitstopd", "handing over", {{"to_pid", to_pid}});
  // Clients get GOAWAY and open their next streams on a new connection,
  // which waits in the listening socket's backlog for the new daemon.
  p.router->GoAway();
  if (absl::Status s =
          SendListener(request.connection, p.router->listen_fd(), p.address);
      !s.ok()) {
    p.router->ResumeAccepting();
    LogWarning("pitstopd", "hand-over abandoned: the new pitstopd went away",
               {{"to_pid", to_pid}});
    return finish(false);
  }
  const absl::Time deadline = absl::Now() + kHandOverDrain;
  const bool idle = p.router->AwaitIdle(deadline);
  const bool clients_gone = p.router->AwaitNoClients(deadline);
  if (!idle || !clients_gone) {
    LogWarning("pitstopd",
               absl::StrCat("calls or client connections still open after ",
                            absl::FormatDuration(kHandOverDrain),
                            " of draining; they are cut"));
  }
  if (!OfferRelease(request.connection, absl::Now() + kHandOverTake)) {
    p.router->ResumeAccepting();
    LogWarning("pitstopd",
               "hand-over abandoned: the new pitstopd went away or did not "
               "say \"take\" before it took over; serving on",
               {{"to_pid", to_pid}});
    return finish(false);
  }
  // The point of no return: nothing of this daemon acts on a driver again.
  p.ReleaseDrivers();
  if (absl::Status s = SendReleased(request.connection); !s.ok()) {
    LogError("pitstopd",
             absl::StrCat("the new pitstopd went away as it took over (",
                          s.message(),
                          "); the drivers run on: start pitstopd again to "
                          "take them back"));
  }
  p.router->Stop();
  LogInfo("pitstopd", "handed over; exiting with the drivers running",
          {{"to_pid", to_pid}});
  return finish(true);
}

}  // namespace pitstop
