#include "supervisor/core/supervisor.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/common/check.h"
#include "supervisor/common/logging.h"
#include "supervisor/core/pid_file.h"
#include "supervisor/core/start_order.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

std::string ShortDuration(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}

}  // namespace

RestartPolicyOptions EffectiveRestartPolicy(const RestartPolicyOptions& daemon,
                                            const DriverRestartPolicy& driver) {
  // A driver may be stricter than the operator allows, never looser: fewer
  // restarts, a longer window, shorter waits.
  RestartPolicyOptions out = daemon;
  if (driver.max_restarts) {
    out.max_restarts = std::min(*driver.max_restarts, daemon.max_restarts);
  }
  if (driver.window) out.window = std::max(*driver.window, daemon.window);
  if (driver.max_backoff) {
    out.max_backoff = std::min(*driver.max_backoff, daemon.max_backoff);
  }
  if (driver.initial_backoff) {
    out.initial_backoff = std::min(*driver.initial_backoff, out.max_backoff);
  }
  return out;
}

absl::string_view DriverStateName(DriverState state) {
  switch (state) {
    case DriverState::kStopped:
      return "STOPPED";
    case DriverState::kStarting:
      return "STARTING";
    case DriverState::kReady:
      return "READY";
    case DriverState::kBackoff:
      return "BACKOFF";
    case DriverState::kStopping:
      return "STOPPING";
    case DriverState::kFailed:
      return "FAILED";
    case DriverState::kDegraded:
      return "DEGRADED";
  }
  return "UNKNOWN";
}

Supervisor::Supervisor(ProcessLauncher& launcher,
                       DriverEndpointFactory& endpoints, Clock& clock,
                       EventLog& events, SupervisorOptions options)
    : launcher_(launcher),
      endpoints_(endpoints),
      clock_(clock),
      events_(events),
      options_(std::move(options)) {}

Supervisor::~Supervisor() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    changed_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Supervisor::AddDriver(DriverPackage package) {
  absl::MutexLock lock(&mu_);
  const std::string name = package.manifest.name;
  auto added = std::make_shared<const DriverPackage>(std::move(package));
  const SemVer& version = added->manifest.version;
  if (Record* existing = FindLocked(name)) {
    if (existing->installed.count(version)) {
      return absl::AlreadyExistsError(
          absl::StrCat("driver ", name, " ", version.ToString(),
                       " is already installed; remove it first (`pitstop "
                       "remove ",
                       name, " --version ", version.ToString(), "`)"));
    }
    existing->installed[version] = added;
    NoteLocked(name, *existing, "installed",
               absl::StrCat("version ", version.ToString(), " in ",
                            added->install_dir, " beside the active ",
                            existing->package->manifest.version.ToString(),
                            "; activate it with `pitstop upgrade ", name,
                            " --to ", version.ToString(), "`"));
    return absl::OkStatus();
  }
  Record& r = drivers_[name];
  r.package = added;
  r.installed[version] = added;
  r.policy = RestartPolicy(
      EffectiveRestartPolicy(options_.restart, r.package->manifest.restart));
  r.state_since = clock_.Now();
  NoteLocked(name, r, "installed",
             absl::StrCat("version ", version.ToString(), " in ",
                          r.package->install_dir));

  RecomputeOrderLocked();
  WakeLocked();
  return absl::OkStatus();
}

void Supervisor::RecomputeOrderLocked() {
  std::vector<const DriverManifest*> manifests;
  for (auto& [n, rec] : drivers_) manifests.push_back(&rec.package->manifest);
  pitstop::StartOrder order = ComputeStartOrder(manifests);
  start_order_ = order.order;
  for (auto& [n, rec] : drivers_) {
    auto it = order.unresolved.find(n);
    rec.unresolved = it == order.unresolved.end() ? "" : it->second;
    if (it != order.unresolved.end()) start_order_.push_back(n);
    if (rec.unresolved.empty()) {
      rec.unresolved = MissingPermission(*rec.package, options_.sandbox);
    }
  }
}

absl::StatusOr<std::shared_ptr<const DriverPackage>> Supervisor::RemoveVersion(
    absl::string_view name, absl::string_view version) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  auto parsed = SemVer::Parse(version);
  auto it = parsed.ok() ? r->installed.find(*parsed) : r->installed.end();
  if (it == r->installed.end()) {
    std::vector<std::string> versions;
    for (const auto& [v, p] : r->installed) versions.push_back(v.ToString());
    return absl::NotFoundError(
        absl::StrCat("driver ", name, " has no installed version ", version,
                     " (installed: ", absl::StrJoin(versions, ", "), ")"));
  }
  std::shared_ptr<const DriverPackage> package = it->second;
  if (package == r->package) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, " ", version,
        " is the active version; upgrade to another "
        "version first, or remove the whole driver (`pitstop remove ",
        name, "`)"));
  }
  if (r->upgrade &&
      (r->upgrade->to == package || r->upgrade->from == package)) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, " ", version,
                     " takes part in the upgrade in progress; wait for it to "
                     "commit or roll back"));
  }
  for (Instance* inst :
       {r->instance.get(), r->successor.get(), r->retiring.get()}) {
    if (inst != nullptr && inst->package == package) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, " ", version, " still runs (pid ", inst->pid,
                       "); wait for it to stop"));
    }
  }
  r->installed.erase(it);
  if (r->previous_version == version) {
    r->previous_version.clear();
    r->persist_pending = true;
    WakeLocked();
  }
  NoteLocked(std::string(name), *r, "operator",
             absl::StrCat("version ", version, " removed"));
  return package;
}

absl::StatusOr<std::vector<std::shared_ptr<const DriverPackage>>>
Supervisor::RemoveDriver(absl::string_view name) {
  absl::Time deadline;
  {
    absl::MutexLock lock(&mu_);
    Record* r = FindLocked(name);
    if (r == nullptr) return UnknownDriverLocked(name);
    for (const auto& [other, rec] : drivers_) {
      for (const DriverRequirement& req : rec.package->manifest.requires_) {
        if (req.name == name && other != name) {
          return absl::FailedPreconditionError(
              absl::StrCat("driver ", other, " requires ", name, "; remove ",
                           other, " first"));
        }
      }
    }
    NoteLocked(std::string(name), *r, "operator", "remove requested");
    r->want_running = false;
    r->restart_requested = false;
    r->graceful_requested = false;
    deadline =
        absl::Now() + r->package->manifest.timeouts.stop + absl::Seconds(5);
    WakeLocked();
  }
  std::vector<Waiter> orphans;
  std::vector<std::shared_ptr<const DriverPackage>> packages;
  {
    absl::MutexLock lock(&mu_);
    Record* r = FindLocked(name);
    while (r != nullptr &&
           (r->instance || r->successor || r->retiring ||
            r->state == DriverState::kBackoff) &&
           !shutdown_) {
      if (changed_.WaitWithDeadline(&mu_, deadline)) break;
      r = FindLocked(name);
    }
    if (r == nullptr) return UnknownDriverLocked(name);
    if (r->instance || r->successor || r->retiring) {
      return absl::DeadlineExceededError(
          absl::StrCat("driver ", name, " did not stop in time; try again"));
    }
    for (const auto& [v, p] : r->installed) packages.push_back(p);
    orphans = std::move(r->waiters);
    NoteLocked(std::string(name), *r, "operator", "removed");
    drivers_.erase(drivers_.find(name));
    RecomputeOrderLocked();
    changed_.SignalAll();
  }
  for (Waiter& w : orphans) {
    w.done(absl::NotFoundError(
        absl::StrCat("driver ", name, " was removed while the call waited")));
  }
  return packages;
}

void Supervisor::SetStore(DesiredStateStore* store) { store_ = store; }

void Supervisor::RestoreDesiredState(
    const std::map<std::string, DesiredDriverState>& saved) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, r] : drivers_) {
    // Active: the saved version if still installed, else the highest.
    auto it = saved.find(name);
    std::shared_ptr<const DriverPackage> active = r.installed.rbegin()->second;
    if (it != saved.end() && !it->second.active_version.empty()) {
      auto v = SemVer::Parse(it->second.active_version);
      auto found = v.ok() ? r.installed.find(*v) : r.installed.end();
      if (found != r.installed.end()) {
        active = found->second;
      } else {
        NoteLocked(
            name, r, "upgrade",
            absl::StrCat("the active version ", it->second.active_version,
                         " is no longer installed; ",
                         active->manifest.version.ToString(),
                         " is active instead"));
        r.persist_pending = true;
      }
    }
    if (active != r.package) {
      r.package = active;
      r.policy = RestartPolicy(
          EffectiveRestartPolicy(options_.restart, active->manifest.restart));
    }
    if (it == saved.end()) continue;
    r.previous_version = it->second.previous_version;
    if (!it->second.upgrading_to.empty()) {
      NoteLocked(
          name, r, "upgrade-rolled-back",
          absl::StrCat("the upgrade to ", it->second.upgrading_to,
                       " was interrupted by a restart of pitstopd "
                       "before it committed; ",
                       active->manifest.version.ToString(), " stays active"));
      r.persist_pending = true;
    }
  }
  RecomputeOrderLocked();
  for (const auto& [name, state] : saved) {
    Record* r = FindLocked(name);
    if (r == nullptr) continue;
    r->enabled = state.enabled;
    if (!state.enabled) {
      NoteLocked(name, *r, "operator",
                 "stays stopped, as before the daemon restarted");
    }
    if (state.failed) {
      r->message = absl::StrCat(
          "FAILED before pitstopd restarted: ", state.failed_reason,
          ". Fix the cause, then run `pitstop reset ", name, "`");
      SetStateLocked(name, *r, DriverState::kFailed, clock_.Now());
    }
  }
}

void Supervisor::Run() {
  CHECK(!thread_.joinable());
  thread_ = std::thread([this] { Loop(); });
}

void Supervisor::WakeLocked() {
  dirty_ = true;
  changed_.SignalAll();
}

void Supervisor::Loop() {
  while (true) {
    Actions actions;
    absl::Time next;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_) return;
      dirty_ = false;
      next = ReconcileLocked(clock_.Now(), actions);
      next_wake_ = next;
    }
    Execute(std::move(actions));
    absl::MutexLock lock(&mu_);
    while (!dirty_ && !shutdown_) {
      absl::Duration wait = next - clock_.Now();
      if (wait <= absl::ZeroDuration()) break;
      if (changed_.WaitWithTimeout(&mu_, wait)) break;
    }
  }
}

void Supervisor::Step() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    dirty_ = false;
    ReconcileLocked(clock_.Now(), actions);
  }
  Execute(std::move(actions));
}

absl::Time Supervisor::ReconcileLocked(absl::Time now, Actions& actions) {
  absl::Time next = absl::InfiniteFuture();
  for (auto& [name, r] : drivers_) {
    ReconcileDriverLocked(name, r, now, actions);
    if (r.persist_pending) {
      r.persist_pending = false;
      actions.persist.emplace_back(name, DesiredLocked(r));
    }
    if (r.upgrade) next = std::min(next, r.upgrade->probation_until);
    if (r.state == DriverState::kBackoff && !r.instance) {
      next = std::min(next, r.backoff_until);
    }
    if (Instance* inst = r.instance.get()) {
      if (r.state == DriverState::kStarting) {
        next = std::min(next, inst->start_deadline);
        if (!inst->probe_in_flight && inst->launched) {
          next = std::min(next, inst->next_probe);
        }
      }
      if (!inst->kill_sent) next = std::min(next, inst->kill_at);
      if ((r.state == DriverState::kReady ||
           r.state == DriverState::kDegraded) &&
          !inst->probe_in_flight) {
        next = std::min(next, inst->next_probe);
      }
      if (r.state == DriverState::kDegraded) {
        next = std::min(next, r.state_since + options_.degraded_grace);
      }
    }
    if (Instance* s = r.successor.get()) {
      next = std::min(next, s->start_deadline);
      if (!s->probe_in_flight && s->launched)
        next = std::min(next, s->next_probe);
    }
    if (Instance* o = r.retiring.get()) {
      if (o->term_sent) {
        next = std::min(next, o->kill_at);
      } else if (!o->cancel_sent) {
        next = std::min(next, o->drain_deadline);
      }
    }
    ResolveWaitersLocked(name, r, now, actions, next);
  }
  return next;
}

DesiredDriverState Supervisor::DesiredLocked(const Record& r) const {
  DesiredDriverState d;
  d.enabled = r.enabled;
  d.failed = r.state == DriverState::kFailed;
  d.failed_reason = d.failed ? r.last_exit : "";
  // Until an upgrade commits, the version it started from stays active.
  d.active_version =
      (r.upgrade ? r.upgrade->from : r.package)->manifest.version.ToString();
  d.previous_version = r.previous_version;
  if (r.upgrade) d.upgrading_to = r.upgrade->to->manifest.version.ToString();
  return d;
}

void Supervisor::SetStateLocked(const std::string& name, Record& r,
                                DriverState state, absl::Time now) {
  if (r.state == state) return;
  Log(state == DriverState::kBackoff || state == DriverState::kFailed
          ? LogLevel::kWarning
          : LogLevel::kInfo,
      "supervisor",
      absl::StrCat("driver ", name, " is ", DriverStateName(state),
                   r.message.empty() ? "" : ": ", r.message),
      {{"driver", name},
       {"from", DriverStateName(r.state)},
       {"to", DriverStateName(state)}});
  DriverEvent event;
  event.driver = name;
  event.kind = "state";
  event.from = r.state;
  event.to = state;
  event.reason = r.message;
  event.pid = r.instance && r.instance->launched ? r.instance->pid : 0;
  events_.Append(std::move(event));
  r.state = state;
  r.state_since = now;
  changed_.SignalAll();
}

DriverEvent Supervisor::MakeEventLocked(const std::string& name,
                                        const Record& r, absl::string_view kind,
                                        std::string reason, pid_t pid) {
  DriverEvent event;
  event.driver = name;
  event.kind = std::string(kind);
  event.from = r.state;
  event.to = r.state;
  event.reason = std::move(reason);
  event.pid = pid;
  return event;
}

uint64_t Supervisor::NoteLocked(const std::string& name, const Record& r,
                                absl::string_view kind, std::string reason,
                                pid_t pid) {
  return events_.Append(MakeEventLocked(name, r, kind, std::move(reason), pid));
}

bool Supervisor::DependenciesReadyLocked(const Record& r,
                                         std::string* waiting_for) {
  for (const DriverRequirement& req : r.package->manifest.requires_) {
    auto it = drivers_.find(req.name);
    if (it == drivers_.end() || it->second.state != DriverState::kReady) {
      *waiting_for = req.name;
      return false;
    }
  }
  return true;
}

std::unique_ptr<Supervisor::Instance> Supervisor::NewInstanceLocked(
    const std::string& name, std::shared_ptr<const DriverPackage> package,
    absl::Time now, Actions::Launch* out) {
  const DriverManifest& m = package->manifest;
  auto inst = std::make_unique<Instance>();
  inst->id = next_instance_id_++;
  inst->package = package;
  inst->load = std::make_shared<InstanceLoad>([this] {
    // A resource or the whole of a replaced instance drained: waiting calls
    // may go on, the instance may stop.
    absl::MutexLock lock(&mu_);
    WakeLocked();
  });
  inst->dir =
      (fs::path(options_.run_dir) / name / std::to_string(inst->id)).string();
  inst->socket_path = (fs::path(inst->dir) / "driver.sock").string();
  inst->start_deadline = now + m.timeouts.start;
  inst->next_probe = now;
  const std::string data_dir = (fs::path(options_.data_dir) / name).string();

  Actions::Launch launch;
  launch.driver = name;
  launch.instance_id = inst->id;
  launch.dir = inst->dir;
  launch.spec.executable =
      (fs::path(package->install_dir) / m.entrypoint).string();
  launch.expected_sha256 = package->entrypoint_sha256;
  launch.spec.working_dir = data_dir;
  launch.spec.env = {
      absl::StrCat("PITSTOP_SOCKET=", inst->socket_path),
      absl::StrCat("PITSTOP_DRIVER_NAME=", name),
      absl::StrCat("PITSTOP_DRIVER_VERSION=", m.version.ToString()),
      absl::StrCat("PITSTOP_DRIVER_ROOT=", package->install_dir),
      absl::StrCat("PITSTOP_STATE_DIR=", data_dir),
      absl::StrCat("PITSTOP_INSTANCE_ID=", inst->id),
      absl::StrCat("LD_LIBRARY_PATH=",
                   (fs::path(package->install_dir) / "lib").string()),
      absl::StrCat("HOME=", data_dir),
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "LANG=C.UTF-8",
  };
  launch.spec.sandbox = SandboxFor(*package, options_.sandbox);
  launch.spec.sandbox.instance_id = inst->id;
  launch.spec.sandbox.data_dir = data_dir;
  launch.spec.sandbox.socket_dir = inst->dir;
  if (std::string missing = MissingPermission(*package, options_.sandbox);
      !missing.empty()) {
    // A version (e.g. an upgrade) asking for more than was granted.
    inst->exited = true;
    inst->failure = std::move(missing);
  } else if (inst->socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    inst->exited = true;
    inst->failure =
        absl::StrCat("socket path ", inst->socket_path, " is longer than ",
                     sizeof(sockaddr_un{}.sun_path) - 1,
                     " bytes; choose a shorter --state-dir");
  }
  *out = std::move(launch);
  return inst;
}

Supervisor::Actions::Launch Supervisor::PrepareLaunchLocked(
    const std::string& name, Record& r, absl::Time now) {
  Actions::Launch launch;
  r.instance = NewInstanceLocked(name, r.package, now, &launch);
  r.message.clear();
  SetStateLocked(name, r, DriverState::kStarting, now);
  return launch;
}

Supervisor::Instance* Supervisor::FindInstance(Record& r, uint64_t id) {
  for (Instance* inst :
       {r.instance.get(), r.successor.get(), r.retiring.get()}) {
    if (inst != nullptr && inst->id == id) return inst;
  }
  return nullptr;
}

void Supervisor::ReconcileSuccessorLocked(const std::string& name, Record& r,
                                          absl::Time now, Actions& actions) {
  if (r.graceful_requested && !r.successor && r.upgrade &&
      !r.upgrade->abort_cause.empty()) {
    // Abandoned before the new version was even started.
    r.graceful_requested = false;
    r.message.clear();
    NoteLocked(
        name, r, "upgrade-rolled-back",
        absl::StrCat(
            "the upgrade to ", r.upgrade->to->manifest.version.ToString(), " ",
            r.upgrade->abort_cause, " before the new version started; ",
            r.package->manifest.version.ToString(), " stays active"));
    EndUpgradeLocked(r);
  }
  if (r.graceful_requested && !r.successor) {
    if (r.want_running && r.state == DriverState::kReady && r.instance &&
        !r.retiring) {
      Actions::Launch launch;
      const bool upgrading = r.upgrade.has_value();
      r.successor = NewInstanceLocked(
          name, upgrading ? r.upgrade->to : r.package, now, &launch);
      r.message = upgrading
                      ? absl::StrCat("upgrading to ",
                                     r.upgrade->to->manifest.version.ToString(),
                                     ": the new version is starting")
                      : "graceful restart: a new instance is starting";
      NoteLocked(name, r, "process",
                 upgrading
                     ? absl::StrCat("upgrade: starting version ",
                                    r.upgrade->to->manifest.version.ToString(),
                                    " beside the serving ",
                                    r.package->manifest.version.ToString())
                     : "graceful restart: starting a new instance "
                       "beside the serving one");
      if (!r.successor->exited) actions.launches.push_back(std::move(launch));
    } else if (!r.upgrade && !r.retiring) {
      // Nothing serves: stopping and starting is as good.
      r.graceful_requested = false;
      r.restart_requested = r.instance != nullptr;
    } else if (!r.retiring) {
      // Not READY any more (it died or degraded before the new version
      // could start): switch versions by a plain restart.
      const std::string to = r.upgrade->to->manifest.version.ToString();
      SetPackageLocked(r, r.upgrade->to);
      r.previous_version = r.upgrade->from->manifest.version.ToString();
      EndUpgradeLocked(r);
      r.graceful_requested = false;
      r.restart_requested = r.instance != nullptr;
      r.persist_pending = true;
      NoteLocked(name, r, "upgrade-committed",
                 absl::StrCat("version ", to,
                              " is active; the driver was not READY, so it "
                              "restarts instead of running both versions"));
    }
  }
  if (!r.successor) return;
  const DriverManifest& m = r.successor->package->manifest;
  Instance& s = *r.successor;
  if (s.exited) {
    const std::string how = s.failure.empty() ? s.exit.Describe() : s.failure;
    if (r.upgrade) {
      r.message = absl::StrCat(
          "upgrade to ", m.version.ToString(), " rolled back: the new version ",
          how, " before it became ready; ",
          r.package->manifest.version.ToString(), " keeps serving");
      NoteLocked(name, r, "upgrade-rolled-back", r.message, s.pid);
      EndUpgradeLocked(r);
      r.persist_pending = true;
    } else {
      r.message = absl::StrCat("graceful restart failed: the new instance ",
                               how, "; the old one keeps serving");
      NoteLocked(name, r, "process", r.message, s.pid);
    }
    actions.remove_dirs.push_back(s.dir);
    r.successor.reset();
    r.graceful_requested = false;
    changed_.SignalAll();
    return;
  }
  if (!s.launched) return;
  if (!r.want_running && !s.kill_sent) {
    // It never served: no need to be gentle.
    actions.signals.emplace_back(s.pid, SIGKILL);
    s.kill_sent = true;
    return;
  }
  if (s.ready && r.instance && !s.kill_sent) {
    // Cut over: new calls go to the successor from now on, each resource
    // once its calls on the old instance have ended.
    r.retiring = std::move(r.instance);
    r.retiring->load->SetRetiring(true);
    r.instance = std::move(r.successor);
    r.instance->next_probe = now + options_.health_interval;
    r.graceful_requested = false;
    r.message.clear();
    // The old instance may have turned DEGRADED meanwhile; the new one has
    // just answered its probe.
    SetStateLocked(name, r, DriverState::kReady, now);
    if (r.upgrade) {
      UpgradeRun& u = *r.upgrade;
      NoteLocked(name, r, "upgrade-ready",
                 absl::StrCat("version ", m.version.ToString(), " is ready"),
                 r.instance->pid);
      u.cut_over = true;
      u.probation_until = now + u.options.probation;
      u.draining = r.retiring->load->BusyResources();
      std::sort(u.draining.begin(), u.draining.end());
      r.retiring->standby = true;
      r.retiring->drain_deadline = now + u.options.drain_timeout;
      SetPackageLocked(r, u.to);
      RecomputeOrderLocked();
      r.message =
          absl::StrCat("upgrading from ", u.from->manifest.version.ToString(),
                       ": on probation until ",
                       absl::FormatTime("%H:%M:%E3S", u.probation_until,
                                        absl::UTCTimeZone()),
                       " UTC");
      NoteLocked(name, r, "upgrade-cut-over",
                 absl::StrCat("new calls go to ", m.version.ToString(), "; ",
                              u.draining.size(), " resources still busy on ",
                              u.from->manifest.version.ToString(),
                              " move when their calls there end"),
                 r.instance->pid);
    } else {
      r.retiring->drain_deadline = now + m.timeouts.drain;
      NoteLocked(name, r, "process",
                 absl::StrCat("graceful restart: pid ", r.instance->pid,
                              " serves; pid ", r.retiring->pid, " drains"),
                 r.instance->pid);
    }
    r.policy.OnReady(now);
    changed_.SignalAll();
    return;
  }
  if (now >= s.start_deadline && !s.kill_sent) {
    s.failure = absl::StrCat("did not become ready within ",
                             ShortDuration(m.timeouts.start));
    actions.signals.emplace_back(s.pid, SIGKILL);
    s.kill_sent = true;
  } else if (!s.probe_in_flight && now >= s.next_probe && !s.kill_sent) {
    s.probe_in_flight = true;
    actions.probes.emplace_back(
        name, s.id, s.endpoint,
        std::min(now + options_.probe_timeout, s.start_deadline));
  }
}

void Supervisor::ReconcileRetiringLocked(const std::string& name, Record& r,
                                         absl::Time now, Actions& actions) {
  if (!r.retiring) return;
  Instance& o = *r.retiring;
  const std::string version = o.package->manifest.version.ToString();
  if (o.exited) {
    const std::string how = o.failure.empty() ? o.exit.Describe() : o.failure;
    if (o.rolled_back) {
      NoteLocked(name, r, "process",
                 absl::StrCat("the rolled-back version ", version, " (pid ",
                              o.pid, ") stopped: ", how),
                 o.pid);
    } else if (o.package != r.package) {
      NoteLocked(name, r, "upgrade-old-stopped",
                 absl::StrCat("version ", version, " (pid ", o.pid,
                              ") stopped: ", how),
                 o.pid);
    } else {
      NoteLocked(name, r, "process",
                 absl::StrCat("the replaced instance ended: ", how), o.pid);
    }
    actions.remove_dirs.push_back(o.dir);
    r.retiring.reset();
    changed_.SignalAll();
    return;
  }
  const int calls = o.load->calls();
  if (r.upgrade && r.upgrade->cut_over) {
    // Report each resource that was busy at the cut-over as it drains.
    std::vector<std::string> still;
    for (const std::string& resource : r.upgrade->draining) {
      if (o.load->Busy(resource) > 0) {
        still.push_back(resource);
      } else {
        NoteLocked(
            name, r, "upgrade-resource-drained",
            absl::StrCat(resource, " has no call left on ", version,
                         "; its calls go to ",
                         r.instance->package->manifest.version.ToString()),
            o.pid);
      }
    }
    r.upgrade->draining = std::move(still);
  }
  if (calls == 0 && !o.drained_noted) {
    o.drained_noted = true;
    NoteLocked(
        name, r,
        o.package != r.package && !o.rolled_back ? "upgrade-drained"
                                                 : "process",
        absl::StrCat("version ", version, " (pid ", o.pid, ") has no call left",
                     o.standby ? "; kept until the upgrade commits" : ""),
        o.pid);
  }
  if (calls > 0 && now >= o.drain_deadline && !o.cancel_sent) {
    // Cancelling the forwarded calls does not stop the driver's handlers:
    // their resources stay busy until this process has exited, and it is
    // stopped now rather than kept for a rollback.
    o.cancel_sent = true;
    for (std::string& resource : o.load->BusyResources()) {
      o.held.insert(std::move(resource));
    }
    o.standby = false;
    actions.cancels.push_back(o.load);
    NoteLocked(name, r, "drain-timeout",
               absl::StrCat(calls, " calls still running on version ", version,
                            " (pid ", o.pid,
                            ") after the drain timeout are cancelled; it "
                            "stops, and their resources wait until it has "
                            "exited"),
               o.pid);
  }
  if (o.standby && r.want_running && !o.term_sent) return;
  const DriverManifest& m = o.package->manifest;
  if (!o.term_sent &&
      (calls == 0 || now >= o.drain_deadline || !r.want_running)) {
    actions.signals.emplace_back(o.pid, SIGTERM);
    o.term_sent = true;
    o.kill_at = now + m.timeouts.stop;
  } else if (o.term_sent && !o.kill_sent && now >= o.kill_at) {
    actions.signals.emplace_back(o.pid, SIGKILL);
    o.kill_sent = true;
  }
}

void Supervisor::SetPackageLocked(
    Record& r, std::shared_ptr<const DriverPackage> package) {
  r.package = std::move(package);
  r.policy = RestartPolicy(
      EffectiveRestartPolicy(options_.restart, r.package->manifest.restart));
}

void Supervisor::EndUpgradeLocked(Record& r) {
  // A standby instance no longer waits for a commit: it stops once drained.
  if (r.retiring) r.retiring->standby = false;
  r.upgrade.reset();
  r.persist_pending = true;
  RecomputeOrderLocked();
  changed_.SignalAll();
}

void Supervisor::RollBackLocked(const std::string& name, Record& r,
                                absl::Time now, const std::string& cause,
                                Actions& actions) {
  UpgradeRun& u = *r.upgrade;
  std::unique_ptr<Instance> failed = std::move(r.instance);
  r.instance = std::move(r.retiring);
  Instance& old = *r.instance;
  old.standby = false;
  old.load->SetRetiring(false);
  old.drain_deadline = absl::InfiniteFuture();
  old.drained_noted = false;
  old.cancel_sent = false;
  old.health_failures = 0;
  old.next_probe = now;
  SetPackageLocked(r, u.from);
  const pid_t failed_pid = failed->pid;
  if (failed->exited) {
    r.last_exit =
        failed->failure.empty() ? failed->exit.Describe() : failed->failure;
    actions.remove_dirs.push_back(failed->dir);
  } else {
    // Alive but failing: it finishes (or is cancelled from) what it has,
    // resource by resource, like any replaced instance, then stops.
    failed->load->SetRetiring(true);
    failed->drain_deadline = now + u.options.drain_timeout;
    failed->rolled_back = true;
    r.retiring = std::move(failed);
  }
  r.message =
      absl::StrCat("upgrade to ", u.to->manifest.version.ToString(),
                   " rolled back: the new version ", cause, "; ",
                   u.from->manifest.version.ToString(), " serves again");
  NoteLocked(name, r, "upgrade-rolled-back", r.message, failed_pid);
  SetStateLocked(name, r, DriverState::kReady, now);
  EndUpgradeLocked(r);
}

void Supervisor::ReconcileUpgradeLocked(const std::string& name, Record& r,
                                        absl::Time now, Actions& actions) {
  if (!r.upgrade) return;
  UpgradeRun& u = *r.upgrade;
  const std::string to = u.to->manifest.version.ToString();
  const std::string from = u.from->manifest.version.ToString();
  if (!r.want_running) {
    // Stopped or removed mid-upgrade: the version it started from stays
    // active; the processes stop the usual way.
    SetPackageLocked(r, u.from);
    r.message.clear();
    NoteLocked(name, r, "upgrade-rolled-back",
               absl::StrCat("the upgrade to ", to,
                            " was abandoned because the driver is stopping; ",
                            from, " stays active"));
    EndUpgradeLocked(r);
    return;
  }
  if (!u.cut_over) {
    if (!u.abort_cause.empty() && r.successor && r.successor->launched &&
        !r.successor->kill_sent) {
      r.successor->failure = u.abort_cause;
      actions.signals.emplace_back(r.successor->pid, SIGKILL);
      r.successor->kill_sent = true;
    }
    return;
  }
  Instance* inst = r.instance.get();
  Instance* old = r.retiring.get();
  std::string cause = u.abort_cause;
  if (inst == nullptr) {
    cause = "ended";
  } else if (inst->exited) {
    cause = absl::StrCat(
        "crashed during its probation (",
        inst->failure.empty() ? inst->exit.Describe() : inst->failure, ")");
  } else if (r.state == DriverState::kDegraded) {
    cause = absl::StrCat("failed its probes during its probation (",
                         inst->probe_message, ")");
  }
  if (!cause.empty()) {
    if (old != nullptr && !old->exited && !old->term_sent) {
      RollBackLocked(name, r, now, cause, actions);
      return;
    }
    // The old instance is gone too: the version it ran restarts.
    SetPackageLocked(r, u.from);
    r.message =
        absl::StrCat("upgrade to ", to, " rolled back: the new version ", cause,
                     "; ", from, " restarts");
    NoteLocked(name, r, "upgrade-rolled-back", r.message);
    if (inst != nullptr && !inst->exited && inst->launched) {
      r.restart_requested = true;
    }
    EndUpgradeLocked(r);
    return;
  }
  if (u.probation_until == absl::InfiniteFuture() &&
      r.state == DriverState::kReady) {
    // It took over while still starting: the probation starts now.
    u.probation_until = now + u.options.probation;
  }
  if (now >= u.probation_until && r.state == DriverState::kReady) {
    r.previous_version = from;
    if (old != nullptr) old->standby = false;  // it stops once drained
    r.message.clear();
    // Announced once the new active version is saved (Execute), so that no
    // one is told "committed" about an upgrade a crash could still undo.
    DriverEvent committed = MakeEventLocked(
        name, r, "upgrade-committed",
        absl::StrCat("version ", to, " is active after ",
                     ShortDuration(u.options.probation), " of probation; ",
                     from, old != nullptr ? " stops once drained" : " ended",
                     " (`pitstop rollback ", name, "` returns to it)"),
        inst->pid);
    actions.after_persist.push_back(std::move(committed));
    EndUpgradeLocked(r);
  }
}

void Supervisor::ReconcileDriverLocked(const std::string& name, Record& r,
                                       absl::Time now, Actions& actions) {
  // 0. The processes beside the serving one, and the upgrade they serve.
  ReconcileUpgradeLocked(name, r, now, actions);
  ReconcileSuccessorLocked(name, r, now, actions);
  ReconcileRetiringLocked(name, r, now, actions);
  const DriverManifest& m = r.package->manifest;

  // 1. A process that ended.
  if (r.instance && r.instance->exited) {
    Instance& inst = *r.instance;
    std::string how =
        inst.failure.empty() ? inst.exit.Describe() : inst.failure;
    r.last_exit = how;
    NoteLocked(name, r, "process", absl::StrCat("process ", how), inst.pid);
    const bool expected = r.state == DriverState::kStopping;
    const bool was_starting = r.state == DriverState::kStarting;
    actions.remove_dirs.push_back(inst.dir);
    r.instance.reset();
    changed_.SignalAll();
    if (r.successor && r.want_running) {
      // It died during a graceful restart: the new instance takes over.
      r.instance = std::move(r.successor);
      r.graceful_requested = false;
      r.message = absl::StrCat("died during a graceful restart: ", how,
                               "; the new instance takes over");
      if (r.upgrade) {
        // The new version takes over early, on probation, with nothing to
        // roll back to but a restart of the old version.
        UpgradeRun& u = *r.upgrade;
        u.cut_over = true;
        // Its probation starts once it is READY.
        u.probation_until = r.instance->ready ? now + u.options.probation
                                              : absl::InfiniteFuture();
        SetPackageLocked(r, u.to);
        RecomputeOrderLocked();
        r.message = absl::StrCat("the old version died during the upgrade (",
                                 how, "); ", u.to->manifest.version.ToString(),
                                 " takes over on probation");
        NoteLocked(name, r, "upgrade-cut-over", r.message, r.instance->pid);
      }
      SetStateLocked(
          name, r,
          r.instance->ready ? DriverState::kReady : DriverState::kStarting,
          now);
      if (r.instance->ready) r.instance->next_probe = now;
      return;
    }
    if (expected || !r.want_running) {
      r.message = r.restart_requested ? "restarting" : "";
      r.restart_requested = false;
      SetStateLocked(name, r, DriverState::kStopped, now);
    } else {
      RestartPolicy::Decision d = r.policy.OnExit(now);
      ++r.restarts;
      if (d.give_up) {
        r.message = absl::StrCat(
            "gave up after ", r.policy.recent_restarts(), " exits within ",
            ShortDuration(r.policy.options().window), "; last: ", how,
            ". Fix the cause, then run `pitstop restart ", name, "`");
        SetStateLocked(name, r, DriverState::kFailed, now);
        r.persist_pending = true;
      } else {
        r.backoff_until = now + d.delay;
        r.message = absl::StrCat(
            was_starting ? "failed to start: " : "died: ", how,
            d.delay == absl::ZeroDuration()
                ? "; restarting now"
                : absl::StrCat("; restarting in ", ShortDuration(d.delay)));
        SetStateLocked(name, r, DriverState::kBackoff, now);
      }
    }
  }

  // 2. No process: start one if wanted.
  if (!r.instance) {
    if (!r.want_running && r.state == DriverState::kBackoff) {
      SetStateLocked(name, r, DriverState::kStopped, now);
    }
    if (!r.unresolved.empty()) {
      r.message = absl::StrCat("cannot start: ", r.unresolved);
      return;
    }
    const bool due =
        r.state == DriverState::kStopped ||
        (r.state == DriverState::kBackoff && now >= r.backoff_until);
    if (!r.want_running || !due) return;
    std::string waiting_for;
    if (!DependenciesReadyLocked(r, &waiting_for)) {
      r.message = absl::StrCat("waiting for required driver ", waiting_for,
                               " to be READY");
      return;
    }
    Actions::Launch launch = PrepareLaunchLocked(name, r, now);
    if (!r.instance->exited) actions.launches.push_back(std::move(launch));
    return;
  }

  // 3. A live (or launching) process.
  Instance& inst = *r.instance;
  const bool should_stop = !r.want_running || r.restart_requested;
  if (should_stop && inst.launched &&
      (r.state == DriverState::kStarting || r.state == DriverState::kReady ||
       r.state == DriverState::kDegraded)) {
    actions.signals.emplace_back(inst.pid, SIGTERM);
    inst.kill_at = now + m.timeouts.stop;
    SetStateLocked(name, r, DriverState::kStopping, now);
  }
  if (inst.launched && !inst.kill_sent && now >= inst.kill_at) {
    actions.signals.emplace_back(inst.pid, SIGKILL);
    inst.kill_sent = true;
    Log(LogLevel::kWarning, "supervisor",
        absl::StrCat("driver ", name, " did not stop within ",
                     ShortDuration(m.timeouts.stop), "; sent SIGKILL"),
        {{"driver", name}});
  }
  if (r.state == DriverState::kStarting && inst.launched) {
    if (now >= inst.start_deadline && !inst.kill_sent) {
      inst.failure = absl::StrCat(
          "did not become ready within ", ShortDuration(m.timeouts.start),
          inst.probe_message.empty() ? "" : " (last probe: ",
          inst.probe_message, inst.probe_message.empty() ? "" : ")");
      actions.signals.emplace_back(inst.pid, SIGKILL);
      inst.kill_sent = true;
    } else if (!inst.probe_in_flight && now >= inst.next_probe) {
      inst.probe_in_flight = true;
      actions.probes.emplace_back(
          name, inst.id, inst.endpoint,
          std::min(now + options_.probe_timeout, inst.start_deadline));
    }
  }
  // Health: a serving instance is probed now and then; one that keeps
  // failing is DEGRADED, then replaced (a hung driver).
  if ((r.state == DriverState::kReady || r.state == DriverState::kDegraded) &&
      inst.launched && !inst.kill_sent) {
    if (r.state == DriverState::kDegraded &&
        now - r.state_since >= options_.degraded_grace) {
      inst.failure = absl::StrCat(
          "stopped answering its probe for ",
          ShortDuration(now - r.state_since +
                        options_.health_interval * options_.health_failures),
          " (last probe: ", inst.probe_message, ")");
      actions.signals.emplace_back(inst.pid, SIGKILL);
      inst.kill_sent = true;
    } else if (!inst.probe_in_flight && now >= inst.next_probe) {
      inst.probe_in_flight = true;
      actions.probes.emplace_back(
          name, inst.id, inst.endpoint,
          now + std::min(options_.probe_timeout, options_.health_interval));
    }
  }
}

void Supervisor::ResolveWaitersLocked(const std::string& name, Record& r,
                                      absl::Time now, Actions& actions,
                                      absl::Time& next) {
  if (r.waiters.empty()) return;
  std::vector<Waiter> keep;
  for (Waiter& w : r.waiters) {
    if (!ResolveWaiterLocked(name, r, now, w, actions, next)) {
      keep.push_back(std::move(w));
    }
  }
  r.waiters = std::move(keep);
}

bool Supervisor::ResolveWaiterLocked(const std::string& name, Record& r,
                                     absl::Time now, Waiter& w,
                                     Actions& actions, absl::Time& next) {
  Instance* inst = r.instance.get();
  const bool ready = r.state == DriverState::kReady && inst != nullptr &&
                     inst->launched && !inst->exited;
  // A replaced instance still running calls: a resource busy there waits.
  const Instance* old =
      r.retiring && !r.retiring->exited ? r.retiring.get() : nullptr;
  const bool busy_on_old =
      old != nullptr && !w.resource.empty() &&
      (old->load->Busy(w.resource) > 0 || old->held.count(w.resource) > 0);
  if (ready && !busy_on_old &&
      (inst->id != w.avoid_instance || now >= w.avoid_until)) {
    Route route;
    route.driver = name;
    route.instance_id = inst->id;
    route.pid = inst->pid;
    route.socket_path = inst->socket_path;
    route.package = inst->package;
    route.endpoint = inst->endpoint;
    route.lease = inst->load->Begin(std::move(w.resource));
    actions.replies.emplace_back(std::move(w.done), std::move(route));
  } else if (r.state == DriverState::kFailed) {
    actions.replies.emplace_back(
        std::move(w.done), absl::UnavailableError(absl::StrCat(
                               "driver ", name, " has FAILED: ", r.message)));
  } else if (!r.unresolved.empty()) {
    actions.replies.emplace_back(
        std::move(w.done),
        absl::FailedPreconditionError(
            absl::StrCat("driver ", name, " cannot start: ", r.unresolved)));
  } else if (!r.want_running && r.state == DriverState::kStopped) {
    actions.replies.emplace_back(
        std::move(w.done),
        absl::FailedPreconditionError(absl::StrCat(
            "driver ", name, " is stopped; start it with `pitstop start ", name,
            "`")));
  } else if (now >= w.deadline) {
    actions.replies.emplace_back(
        std::move(w.done),
        absl::DeadlineExceededError(absl::StrCat(
            "driver ", name,
            " did not become ready before the call's deadline (state ",
            DriverStateName(r.state), r.message.empty() ? "" : ": ", r.message,
            ")")));
  } else {
    next = std::min(next, w.deadline);
    if (ready && !busy_on_old) next = std::min(next, w.avoid_until);
    return false;
  }
  return true;
}

void Supervisor::Execute(Actions actions) {
  for (Actions::Launch& l : actions.launches) {
    std::error_code ec;
    fs::create_directories(l.dir, ec);
    ::chmod(l.dir.c_str(), 0700);
    fs::create_directories(l.spec.working_dir, ec);
    fs::remove(fs::path(l.dir) / "driver.sock", ec);
    std::shared_ptr<DriverEndpoint> endpoint =
        endpoints_.Connect((fs::path(l.dir) / "driver.sock").string());
    const std::string driver = l.driver;
    const uint64_t id = l.instance_id;
    const std::string id_text = std::to_string(id);
    l.spec.on_listening = [this, driver, id] { OnListening(driver, id); };
    absl::StatusOr<pid_t> pid = absl::UnknownError("not launched");
    if (!l.expected_sha256.empty()) {
      // Like Vault's plugin catalog: what runs is what was installed.
      absl::Status same =
          entrypoints_.Verify(l.spec.executable, l.expected_sha256);
      if (!same.ok()) {
        OnLaunched(l.driver, l.instance_id, std::move(same), nullptr);
        continue;
      }
    }
    pid = launcher_.Launch(
        l.spec,
        [driver, id_text](OutputStream stream, absl::string_view line) {
          LogLevel level = LogLevel::kInfo;
          std::string message;
          if (!ParseLogLine(line, &level, &message))
            message = std::string(line);
          Log(level, "driver", message,
              {{"driver", driver},
               {"instance", id_text},
               {"stream",
                stream == OutputStream::kStderr ? "stderr" : "stdout"}});
        },
        [this, driver, id](const ExitInfo& exit) { OnExit(driver, id, exit); });
    if (pid.ok()) {
      // So that a daemon restarted after a crash can find this process.
      if (!WritePidFile((fs::path(l.dir) / "pid").string(), *pid)) {
        LogWarning("supervisor",
                   absl::StrCat("cannot record the pid of driver ", driver,
                                " in ", l.dir,
                                "/pid (not a regular file of "
                                "pitstopd's: did the driver replace it?)"),
                   {{"driver", driver}});
      }
    }
    SandboxReport sandbox =
        pid.ok() ? launcher_.Protections(*pid) : SandboxReport{};
    OnLaunched(driver, id, std::move(pid), std::move(endpoint),
               std::move(sandbox));
  }
  for (const auto& load : actions.cancels) load->CancelAll();
  for (auto [pid, sig] : actions.signals) {
    // NOT_FOUND: it is already gone, and its exit event is on the way.
    (void)launcher_.Signal(pid, sig);
  }
  for (auto& [driver, id, endpoint, deadline] : actions.probes) {
    std::string d = driver;
    uint64_t i = id;
    endpoint->Probe(deadline, [this, d, i](absl::StatusOr<ProbeResult> r) {
      OnProbe(d, i, std::move(r));
    });
  }
  for (auto& [done, result] : actions.replies) done(std::move(result));
  for (const auto& [driver, desired] : actions.persist) {
    if (store_ == nullptr) continue;
    if (absl::Status st = store_->Save(driver, desired); !st.ok()) {
      // The daemon keeps serving; the intent is lost only if it restarts.
      LogError("supervisor", st.message(), {{"driver", driver}});
    }
  }
  for (DriverEvent& e : actions.after_persist) events_.Append(std::move(e));
  for (const std::string& dir : actions.remove_dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

void Supervisor::OnLaunched(const std::string& driver, uint64_t instance_id,
                            absl::StatusOr<pid_t> pid,
                            std::shared_ptr<DriverEndpoint> endpoint,
                            SandboxReport sandbox) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(driver);
  Instance* found = r == nullptr ? nullptr : FindInstance(*r, instance_id);
  if (found == nullptr) return;
  Instance& inst = *found;
  if (!pid.ok()) {
    inst.exited = true;
    inst.failure = std::string(pid.status().message());
  } else {
    inst.pid = *pid;
    inst.sandbox = std::move(sandbox);
    inst.endpoint = std::move(endpoint);
    inst.launched = true;
    inst.next_probe = clock_.Now();
    NoteLocked(driver, *r, "process", "process started", *pid);
    Log(LogLevel::kInfo, "supervisor", "driver process started",
        {{"driver", driver},
         {"pid", std::to_string(*pid)},
         {"socket", inst.socket_path}});
  }
  WakeLocked();
}

void Supervisor::OnExit(const std::string& driver, uint64_t instance_id,
                        const ExitInfo& exit) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(driver);
  Instance* found = r == nullptr ? nullptr : FindInstance(*r, instance_id);
  if (found == nullptr) return;
  found->exited = true;
  found->exit = exit;
  WakeLocked();
}

void Supervisor::OnListening(const std::string& driver, uint64_t instance_id) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(driver);
  Instance* inst = r == nullptr ? nullptr : FindInstance(*r, instance_id);
  // Only an instance still waiting to become ready is probed on its way up.
  if (inst == nullptr || inst->ready ||
      (inst == r->instance.get() && r->state != DriverState::kStarting)) {
    return;
  }
  inst->next_probe = std::min(inst->next_probe, clock_.Now());
  WakeLocked();
}

void Supervisor::OnProbe(const std::string& driver, uint64_t instance_id,
                         absl::StatusOr<ProbeResult> result) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(driver);
  Instance* found = r == nullptr ? nullptr : FindInstance(*r, instance_id);
  if (found == nullptr) return;
  Instance& inst = *found;
  inst.probe_in_flight = false;
  const absl::Time now = clock_.Now();
  const bool ready = result.ok() && result->ready;
  if (!ready) {
    inst.probe_message =
        result.ok() ? result->message : std::string(result.status().message());
  }
  if (&inst != r->instance.get()) {
    // The successor of a graceful restart (a retiring one is not probed).
    if (ready) {
      inst.ready = true;
    } else {
      inst.next_probe = now + options_.probe_interval;
    }
  } else if (r->state == DriverState::kStarting) {
    if (ready && !inst.exited) {
      r->policy.OnReady(now);
      r->message.clear();
      inst.next_probe = now + options_.health_interval;
      SetStateLocked(driver, *r, DriverState::kReady, now);
    } else {
      inst.next_probe = now + options_.probe_interval;
    }
  } else if (r->state == DriverState::kReady ||
             r->state == DriverState::kDegraded) {
    inst.next_probe = now + options_.health_interval;
    if (ready) {
      inst.health_failures = 0;
      if (r->state == DriverState::kDegraded) {
        r->message = "recovered: its probe answers again";
        SetStateLocked(driver, *r, DriverState::kReady, now);
        r->message.clear();
      }
    } else if (++inst.health_failures >= options_.health_failures &&
               r->state == DriverState::kReady) {
      r->message =
          absl::StrCat(inst.health_failures, " probes failed in a row (",
                       inst.probe_message, "); no new calls go to it");
      SetStateLocked(driver, *r, DriverState::kDegraded, now);
    }
  }
  WakeLocked();
}

Supervisor::Record* Supervisor::FindLocked(absl::string_view name) {
  auto it = drivers_.find(name);
  return it == drivers_.end() ? nullptr : &it->second;
}

absl::Status Supervisor::UnknownDriverLocked(absl::string_view name) {
  std::vector<std::string> known;
  for (const auto& [n, r] : drivers_) known.push_back(n);
  return absl::NotFoundError(
      absl::StrCat("no driver named '", name, "' is installed (installed: ",
                   known.empty() ? "none" : absl::StrJoin(known, ", "),
                   "); list them with `pitstop drivers`"));
}

DriverStatus Supervisor::SnapshotLocked(const Record& r) const {
  DriverStatus s;
  s.package = r.package;
  s.state = r.state;
  s.state_since = r.state_since;
  s.pid = r.instance && r.instance->launched && !r.instance->exited
              ? r.instance->pid
              : 0;
  s.restarts = r.restarts;
  s.last_exit = r.last_exit;
  s.message = r.message;
  if (s.message.empty() && r.state == DriverState::kStarting && r.instance &&
      !r.instance->probe_message.empty()) {
    s.message = absl::StrCat("not ready yet: ", r.instance->probe_message);
  }
  s.socket_path = r.instance ? r.instance->socket_path : "";
  if (s.pid != 0) s.sandbox = r.instance->sandbox;
  auto add = [&](const Instance* inst, const char* role) {
    if (inst == nullptr || inst->exited) return;
    InstanceStatus i;
    i.id = inst->id;
    i.pid = inst->launched ? inst->pid : 0;
    i.version = inst->package->manifest.version.ToString();
    i.role = role;
    i.calls_in_flight = inst->load->calls();
    if (i.pid != 0) i.sandbox = inst->sandbox;
    s.instances.push_back(std::move(i));
  };
  add(r.instance.get(), r.state == DriverState::kStarting   ? "starting"
                        : r.state == DriverState::kStopping ? "stopping"
                                                            : "serving");
  add(r.successor.get(), "starting");
  if (const Instance* o = r.retiring.get()) {
    add(o, o->term_sent                          ? "stopping"
           : o->standby && o->load->calls() == 0 ? "standby"
                                                 : "draining");
  }
  for (const auto& [v, p] : r.installed) {
    s.installed_versions.push_back(v.ToString());
  }
  s.previous_version = r.previous_version;
  if (r.upgrade) {
    const UpgradeRun& u = *r.upgrade;
    s.upgrade_from = u.from->manifest.version.ToString();
    s.upgrade_to = u.to->manifest.version.ToString();
    s.upgrade = absl::StrCat(
        u.from->manifest.version.ToString(), " -> ",
        u.to->manifest.version.ToString(), ": ",
        !u.cut_over ? "the new version is starting"
                    : absl::StrCat(
                          "on probation until ",
                          absl::FormatTime(absl::RFC3339_sec, u.probation_until,
                                           absl::UTCTimeZone())));
  }
  return s;
}

std::vector<std::string> Supervisor::StartOrderLocked() { return start_order_; }

std::vector<std::string> Supervisor::StartOrder() {
  absl::MutexLock lock(&mu_);
  return StartOrderLocked();
}

std::vector<DriverStatus> Supervisor::List() {
  absl::MutexLock lock(&mu_);
  std::vector<DriverStatus> out;
  for (const std::string& name : start_order_) {
    out.push_back(SnapshotLocked(drivers_.find(name)->second));
  }
  return out;
}

absl::StatusOr<DriverStatus> Supervisor::Get(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  return SnapshotLocked(*r);
}

absl::Status Supervisor::Reset(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  if (r->state != DriverState::kFailed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " is ", DriverStateName(r->state),
        ", not FAILED: there is nothing to reset (use `pitstop restart ", name,
        "` to restart it)"));
  }
  NoteLocked(std::string(name), *r, "operator", "reset requested");
  r->enabled = true;
  r->persist_pending = true;
  r->want_running = true;
  r->restarts = 0;
  r->policy.Reset();
  r->message.clear();
  SetStateLocked(std::string(name), *r, DriverState::kStopped, clock_.Now());
  WakeLocked();
  return absl::OkStatus();
}

std::vector<Supervisor::OrderEntry> Supervisor::StartOrderDetails() {
  absl::MutexLock lock(&mu_);
  static const char* kLevels[] = {"network", "storage", "hypervisor"};
  std::vector<OrderEntry> out;
  for (const std::string& name : start_order_) {
    const Record& r = drivers_.find(name)->second;
    const DriverManifest& m = r.package->manifest;
    OrderEntry e;
    e.name = name;
    e.category = m.category;
    e.level = StartLevel(m.category);
    for (const DriverRequirement& req : m.requires_) {
      e.requires_.push_back(req.name);
    }
    e.startable = r.unresolved.empty();
    if (!e.startable) {
      e.reason = absl::StrCat("cannot start: ", r.unresolved);
    } else {
      e.reason = absl::StrCat(
          kLevels[e.level], " level",
          e.level > 0
              ? absl::StrCat(", after every ", kLevels[e.level - 1], " driver")
              : "");
      absl::StrAppend(
          &e.reason,
          e.requires_.empty()
              ? "; requires nothing"
              : absl::StrCat("; after ", absl::StrJoin(e.requires_, ", "),
                             " (requires)"));
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status Supervisor::Start(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  NoteLocked(std::string(name), *r, "operator", "start requested");
  r->enabled = true;
  r->persist_pending = true;
  if (!r->unresolved.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " cannot start: ", r->unresolved));
  }
  if (r->want_running && r->state != DriverState::kFailed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " is already running (", DriverStateName(r->state),
        "); use `pitstop restart ", name, "` to restart it"));
  }
  r->want_running = true;
  r->policy.Reset();
  if (r->state == DriverState::kFailed || r->state == DriverState::kBackoff) {
    SetStateLocked(std::string(name), *r, DriverState::kStopped, clock_.Now());
  }
  WakeLocked();
  return absl::OkStatus();
}

absl::Status Supervisor::Stop(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  NoteLocked(std::string(name), *r, "operator", "stop requested");
  r->enabled = false;
  r->persist_pending = true;
  r->want_running = false;
  r->restart_requested = false;
  if (!r->instance && r->state != DriverState::kStopped) {
    SetStateLocked(std::string(name), *r, DriverState::kStopped, clock_.Now());
  }
  WakeLocked();
  return absl::OkStatus();
}

absl::Status Supervisor::Restart(absl::string_view name, bool force) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  if (r->upgrade) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " is being upgraded to ",
        r->upgrade->to->manifest.version.ToString(),
        "; wait for the upgrade to commit or roll back, or abandon it with "
        "`pitstop rollback ",
        name, "`"));
  }
  NoteLocked(std::string(name), *r, "operator", "restart requested");
  r->enabled = true;
  r->persist_pending = true;
  if (!r->unresolved.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " cannot start: ", r->unresolved));
  }
  r->want_running = true;
  r->restarts = 0;
  r->policy.Reset();
  if (!force && r->instance && r->state == DriverState::kReady) {
    r->graceful_requested = true;
  } else if (r->instance) {
    r->restart_requested = true;
  } else if (r->state != DriverState::kStopped) {
    SetStateLocked(std::string(name), *r, DriverState::kStopped, clock_.Now());
  }
  WakeLocked();
  return absl::OkStatus();
}

std::string Supervisor::UpgradeBlockerLocked(const std::string& name,
                                             const DriverPackage& to) {
  const DriverManifest& m = to.manifest;
  const Record& r = *FindLocked(name);
  const std::string v = m.version.ToString();
  if (m.category != r.package->manifest.category) {
    return absl::StrCat(name, " ", v, " is a ", CategoryName(m.category),
                        " driver, but ", r.package->manifest.version.ToString(),
                        " is a ", CategoryName(r.package->manifest.category),
                        " driver: a driver keeps its category across versions");
  }
  for (const DriverRequirement& req : m.requires_) {
    const Record* dep = FindLocked(req.name);
    if (dep == nullptr) {
      return absl::StrCat(name, " ", v, " requires ", req.name, " ",
                          req.versions.text(), ", which is not installed");
    }
    if (!req.versions.Contains(dep->package->manifest.version)) {
      return absl::StrCat(name, " ", v, " requires ", req.name, " ",
                          req.versions.text(), ", but ", req.name, " ",
                          dep->package->manifest.version.ToString(),
                          " is active; upgrade ", req.name, " first");
    }
  }
  for (const auto& [other, rec] : drivers_) {
    for (const DriverRequirement& req : rec.package->manifest.requires_) {
      if (req.name == name && !req.versions.Contains(m.version)) {
        return absl::StrCat(other, " requires ", name, " ", req.versions.text(),
                            ", which ", v, " does not satisfy; upgrade ", other,
                            " first");
      }
    }
  }
  return "";
}

absl::StatusOr<uint64_t> Supervisor::Upgrade(absl::string_view name,
                                             absl::string_view version,
                                             UpgradeOptions options) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  const std::string driver(name);
  auto parsed = SemVer::Parse(version);
  auto it = parsed.ok() ? r->installed.find(*parsed) : r->installed.end();
  if (it == r->installed.end()) {
    std::vector<std::string> versions;
    for (const auto& [v, p] : r->installed) versions.push_back(v.ToString());
    return absl::NotFoundError(absl::StrCat(
        "driver ", name, " has no installed version ", version,
        " (installed: ", absl::StrJoin(versions, ", "),
        "); install it first (`pitstop install FILE.car`), or upgrade from "
        "the CAR (`pitstop upgrade ",
        name, " --car FILE.car`)"));
  }
  std::shared_ptr<const DriverPackage> to = it->second;
  if (r->upgrade) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " is already being upgraded from ",
                     r->upgrade->from->manifest.version.ToString(), " to ",
                     r->upgrade->to->manifest.version.ToString(),
                     "; wait for it to commit or roll back (`pitstop rollback ",
                     name, "` abandons it)"));
  }
  if (to == r->package) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " already runs version ", version,
        "; for a graceful restart use `pitstop restart ", name, "`"));
  }
  if (r->successor || r->retiring || r->graceful_requested) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name,
        " is still replacing an instance (a graceful restart, or the old "
        "version of the last upgrade draining); at most two versions run at "
        "once: try again when `pitstop describe ",
        name, "` shows one instance"));
  }
  if (std::string blocker = UpgradeBlockerLocked(driver, *to);
      !blocker.empty()) {
    return absl::FailedPreconditionError(blocker);
  }
  const absl::Time now = clock_.Now();
  UpgradeRun u;
  u.from = r->package;
  u.to = to;
  u.options = options;
  if (u.options.drain_timeout <= absl::ZeroDuration()) {
    u.options.drain_timeout = u.from->manifest.timeouts.drain;
  }
  if (u.options.probation <= absl::ZeroDuration()) {
    u.options.probation = options_.upgrade_probation;
  }
  u.started = now;
  const std::string from = u.from->manifest.version.ToString();
  const uint64_t started = NoteLocked(
      driver, *r, "upgrade-started",
      absl::StrCat("from ", from, " to ", version, " (drain timeout ",
                   ShortDuration(u.options.drain_timeout), ", probation ",
                   ShortDuration(u.options.probation), ")"));
  r->persist_pending = true;
  if (r->want_running && r->state == DriverState::kReady && r->instance) {
    r->upgrade = std::move(u);
    r->graceful_requested = true;
  } else {
    // Nothing serves: switch versions; a driver trying to run restarts.
    r->previous_version = from;
    SetPackageLocked(*r, to);
    if (r->instance && r->want_running) r->restart_requested = true;
    if (r->state == DriverState::kFailed) {
      r->want_running = r->enabled;
      r->restarts = 0;
      SetStateLocked(driver, *r, DriverState::kStopped, now);
    }
    RecomputeOrderLocked();
    NoteLocked(driver, *r, "upgrade-committed",
               absl::StrCat("version ", version,
                            " is active; the driver was not serving, so it "
                            "switched without running both versions"));
  }
  WakeLocked();
  return started;
}

absl::StatusOr<uint64_t> Supervisor::Rollback(absl::string_view name,
                                              UpgradeOptions options) {
  std::string previous;
  {
    absl::MutexLock lock(&mu_);
    Record* r = FindLocked(name);
    if (r == nullptr) return UnknownDriverLocked(name);
    if (r->upgrade) {
      r->upgrade->abort_cause = "was rolled back by an operator";
      const uint64_t seq =
          NoteLocked(std::string(name), *r, "operator",
                     absl::StrCat("rollback of the upgrade to ",
                                  r->upgrade->to->manifest.version.ToString(),
                                  " requested"));
      WakeLocked();
      return seq;
    }
    if (r->previous_version.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "driver ", name,
          " has no earlier version to roll back to: it has not been upgraded "
          "(or that version was removed)"));
    }
    previous = r->previous_version;
  }
  return Upgrade(name, previous, options);
}

bool Supervisor::SettledLocked(const Record& r) const {
  if (r.graceful_requested || r.successor || r.upgrade) return false;
  if (r.restart_requested || !r.unresolved.empty()) {
    return !r.unresolved.empty();
  }
  switch (r.state) {
    case DriverState::kReady:
      return r.want_running;
    case DriverState::kFailed:
      return true;
    case DriverState::kStopped:
      return !r.want_running;
    default:
      return false;
  }
}

absl::StatusOr<DriverStatus> Supervisor::AwaitSettled(absl::string_view name,
                                                      absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  Record* r = FindLocked(name);
  if (r == nullptr) return UnknownDriverLocked(name);
  while (!SettledLocked(*r) && !shutdown_) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;
    // It may have been removed meanwhile.
    r = FindLocked(name);
    if (r == nullptr) return UnknownDriverLocked(name);
  }
  return SnapshotLocked(*r);
}

void Supervisor::StartAll() {
  std::vector<std::vector<std::string>> levels(3);
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& name : start_order_) {
      Record& r = drivers_.find(name)->second;
      if (!r.unresolved.empty()) {
        Log(LogLevel::kError, "supervisor",
            absl::StrCat("driver ", name, " cannot start: ", r.unresolved),
            {{"driver", name}});
        continue;
      }
      if (!r.enabled || r.state == DriverState::kFailed) {
        LogInfo(
            "supervisor",
            absl::StrCat("driver ", name, " is not started: ",
                         r.enabled ? "it is FAILED" : "an operator stopped it"),
            {{"driver", name}});
        continue;
      }
      levels[StartLevel(r.package->manifest.category)].push_back(name);
    }
  }
  for (const std::vector<std::string>& level : levels) {
    absl::Duration longest;
    {
      absl::MutexLock lock(&mu_);
      for (const std::string& name : level) {
        Record* r = FindLocked(name);  // removed meanwhile: skip
        if (r == nullptr) continue;
        r->want_running = true;
        longest = std::max(longest, r->package->manifest.timeouts.start);
      }
      WakeLocked();
    }
    // Bounded by the start timeout plus one backoff round.
    const absl::Time deadline = absl::Now() + longest + absl::Seconds(2);
    for (const std::string& name : level) (void)AwaitSettled(name, deadline);
  }
}

void Supervisor::StopAll() {
  std::vector<std::string> order = StartOrder();
  std::reverse(order.begin(), order.end());
  for (const std::string& name : order) {
    absl::Time deadline;
    {
      absl::MutexLock lock(&mu_);
      Record* found = FindLocked(name);
      if (found == nullptr) continue;  // removed meanwhile
      Record& r = *found;
      r.want_running = false;
      r.restart_requested = false;
      deadline =
          absl::Now() + r.package->manifest.timeouts.stop + absl::Seconds(5);
      WakeLocked();
    }
    absl::MutexLock lock(&mu_);
    Record* r = FindLocked(name);
    while (r != nullptr &&
           (r->instance || r->successor || r->retiring ||
            r->state == DriverState::kBackoff) &&
           !shutdown_) {
      if (changed_.WaitWithDeadline(&mu_, deadline)) break;
      r = FindLocked(name);  // it may have been removed meanwhile
    }
  }
}

void Supervisor::AcquireRoute(RouteRequest request, RouteCallback done) {
  const std::string& driver = request.driver;
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    Record* r = FindLocked(driver);
    if (r == nullptr) {
      actions.replies.emplace_back(std::move(done),
                                   UnknownDriverLocked(driver));
    } else if (absl::Status fits =
                   CheckCallFits(r->package->manifest, driver, request.category,
                                 request.resource_type);
               !fits.ok()) {
      // A driver's category never changes across versions: a call for
      // another category's service need not wait for a READY instance.
      actions.replies.emplace_back(std::move(done), std::move(fits));
    } else {
      const absl::Time now = clock_.Now();
      Waiter w;
      w.resource = std::move(request.resource);
      w.deadline = std::min(request.deadline, now + options_.max_route_wait);
      w.avoid_instance = request.avoid_instance;
      w.avoid_until = now + absl::Seconds(1);
      w.done = std::move(done);
      // Only the new call is looked at: the parked ones are the control
      // loop's, which looks at them whenever the driver changes, so a call
      // costs the same however many others wait.
      absl::Time next = absl::InfiniteFuture();
      if (!ResolveWaiterLocked(driver, *r, now, w, actions, next)) {
        r->waiters.push_back(std::move(w));
        // The loop must wake for this call's deadline if it would sleep
        // past it.
        if (next < next_wake_) WakeLocked();
      }
    }
  }
  for (auto& [cb, result] : actions.replies) cb(std::move(result));
}

}  // namespace pitstop
