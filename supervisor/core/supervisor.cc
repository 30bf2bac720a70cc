#include "supervisor/core/supervisor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/check.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/operator_actions.h"
#include "supervisor/core/resource_target.h"

namespace pitstop {

Supervisor::Supervisor(ProcessLauncher& launcher,
                       DriverEndpointFactory& endpoints, InstanceFiles& files,
                       Clock& clock, EventLog& events,
                       SupervisorOptions options)
    : clock_(clock),
      options_(std::move(options)),
      runner_(launcher, endpoints, files, clock, events, *this),
      table_(options_.sandbox),
      context_(options_, events, table_,
               [this](const std::string& driver) { OnLoadDrained(driver); }),
      machine_(context_) {}

Supervisor::~Supervisor() { Halt(); }

void Supervisor::Halt() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    changed_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void Supervisor::TouchLocked(const std::string& name) {
  touched_.insert(name);
  dirty_ = true;
  changed_.SignalAll();
}

void Supervisor::PropagateChangesLocked(const std::string& except) {
  if (table_.TakeOrderChanged()) {
    // Any driver may have become startable, or not.
    for (const auto& [name, r] : table_.records()) {
      if (name != except) TouchLocked(name);
    }
  }
  std::vector<std::string> changed = context_.TakeChanged();
  if (changed.empty()) return;
  changed_.SignalAll();
  for (const std::string& name : changed) {
    if (name != except) TouchLocked(name);
    // Drivers waiting for this one to be READY.
    for (const std::string& dependent : table_.Dependents(name)) {
      if (dependent != except) TouchLocked(dependent);
    }
  }
}

void Supervisor::SetStateLocked(const std::string& name, DriverRecord& r,
                                DriverState state) {
  context_.SetState(name, r, state, clock_.Now());
  PropagateChangesLocked();
}

void Supervisor::SetTimerLocked(const std::string& name, DriverRecord& r,
                                absl::Time wake_at) {
  if (r.wake_at != absl::InfiniteFuture()) timers_.erase({r.wake_at, name});
  r.wake_at = wake_at;
  if (wake_at != absl::InfiniteFuture()) timers_.insert({wake_at, name});
}

absl::Status Supervisor::AddDriver(DriverPackage package) {
  absl::MutexLock lock(&mu_);
  const std::string name = package.manifest.name;
  auto added = std::make_shared<const DriverPackage>(std::move(package));
  const SemVer& version = added->manifest.version;
  if (DriverRecord* existing = table_.Find(name)) {
    if (existing->installed.count(version)) {
      return absl::AlreadyExistsError(
          absl::StrCat("driver ", name, " ", version.ToString(),
                       " is already installed; remove it first (`pitstop "
                       "remove ",
                       name, " --version ", version.ToString(), "`)"));
    }
    existing->installed[version] = added;
    context_.Note(name, *existing, "installed",
                  absl::StrCat("version ", version.ToString(), " in ",
                               added->install_dir, " beside the active ",
                               existing->package->manifest.version.ToString(),
                               "; activate it with `pitstop upgrade ", name,
                               " --to ", version.ToString(), "`"));
    return absl::OkStatus();
  }
  DriverRecord& r = table_.Add(name);
  r.installed[version] = added;
  context_.SetPackage(r, added);
  r.state_since = clock_.Now();
  context_.Note(name, r, "installed",
                absl::StrCat("version ", version.ToString(), " in ",
                             r.package->install_dir));
  table_.RecomputeOrder();
  PropagateChangesLocked();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const DriverPackage>> Supervisor::RemoveVersion(
    absl::string_view name, absl::string_view version) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
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
  if (PinnedVersion(*r, version)) {
    std::vector<std::string> pinned;
    for (const auto& [resource, v] : r->pins) {
      if (v == version && pinned.size() < 5) pinned.push_back(resource);
    }
    return absl::FailedPreconditionError(absl::StrCat(
        name, " ", version, " keeps pinned resources (",
        absl::StrJoin(pinned, ", "), "); unpin them first (`pitstop unpin ",
        name, " TYPE/ID`)"));
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
    TouchLocked(std::string(name));
  }
  context_.Note(std::string(name), *r, "operator",
                absl::StrCat("version ", version, " removed"));
  return package;
}

DriverRecord* Supervisor::AwaitNoProcessLocked(absl::string_view name,
                                               absl::Time deadline) {
  DriverRecord* r = table_.Find(name);
  while (r != nullptr &&
         (r->instance || r->successor || r->retiring ||
          r->state == DriverState::kBackoff) &&
         !shutdown_) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;
    r = table_.Find(name);  // it may have been removed meanwhile
  }
  return r;
}

absl::StatusOr<std::vector<std::shared_ptr<const DriverPackage>>>
Supervisor::RemoveDriver(absl::string_view name) {
  const std::string driver(name);
  std::vector<Waiter> orphans;
  std::vector<std::shared_ptr<const DriverPackage>> packages;
  {
    absl::MutexLock lock(&mu_);
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) return table_.UnknownDriver(name);
    if (std::vector<std::string> by = table_.Dependents(name); !by.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("driver ", by.front(), " requires ", name, "; remove ",
                       by.front(), " first"));
    }
    context_.Note(driver, *r, "operator", "remove requested");
    r->want_running = false;
    r->restart_requested = false;
    r->graceful_requested = false;
    const absl::Time deadline =
        absl::Now() + r->package->manifest.timeouts.stop + absl::Seconds(5);
    TouchLocked(driver);
    r = AwaitNoProcessLocked(name, deadline);
    if (r == nullptr) return table_.UnknownDriver(name);
    if (r->instance || r->successor || r->retiring) {
      return absl::DeadlineExceededError(
          absl::StrCat("driver ", name, " did not stop in time; try again"));
    }
    for (const auto& [v, p] : r->installed) packages.push_back(p);
    orphans = r->waiters.TakeAll();
    context_.Note(driver, *r, "operator", "removed");
    SetTimerLocked(driver, *r, absl::InfiniteFuture());
    touched_.erase(driver);
    table_.Erase(name);
    table_.RecomputeOrder();
    PropagateChangesLocked();
    changed_.SignalAll();
  }
  for (Waiter& w : orphans) {
    w.done(absl::NotFoundError(
        absl::StrCat("driver ", name, " was removed while the call waited")));
  }
  return packages;
}

void Supervisor::SetStore(DesiredStateStore* store) {
  store_ = store;
  runner_.SetStore(store);
}

void Supervisor::RestoreDesiredState(
    const std::map<std::string, DesiredDriverState>& saved) {
  absl::MutexLock lock(&mu_);
  for (auto& [name, r] : table_.records()) {
    auto it = saved.find(name);
    machine_.Restore(name, r, it == saved.end() ? nullptr : &it->second);
    if (it != saved.end() && MayResumeCanary(it->second)) {
      resumable_canaries_[name] = it->second;
    }
  }
  table_.RecomputeOrder();
  PropagateChangesLocked();
  for (const auto& [name, state] : saved) {
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) continue;
    r->enabled = state.enabled;
    if (!state.enabled) {
      context_.Note(name, *r, "operator",
                    "stays stopped, as before the daemon restarted");
    }
    if (state.failed) {
      r->message = absl::StrCat(
          "FAILED before pitstopd restarted: ", state.failed_reason,
          ". Fix the cause, then run `pitstop reset ", name, "`");
      SetStateLocked(name, *r, DriverState::kFailed);
    }
  }
}

void Supervisor::Run() {
  CHECK(!thread_.joinable());
  thread_ = std::thread([this] { Loop(); });
}

void Supervisor::Loop() {
  while (true) {
    Effects effects;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_) return;
      dirty_ = false;
      next_wake_ = ReconcileLocked(clock_.Now(), effects);
    }
    runner_.Run(std::move(effects));
    absl::MutexLock lock(&mu_);
    while (!dirty_ && !shutdown_) {
      // next_wake_ may be lowered meanwhile (a call parked with a deadline).
      absl::Duration wait = next_wake_ - clock_.Now();
      if (wait <= absl::ZeroDuration()) break;
      if (changed_.WaitWithTimeout(&mu_, wait)) break;
    }
  }
}

void Supervisor::Step() {
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    dirty_ = false;
    next_wake_ = ReconcileLocked(clock_.Now(), effects);
  }
  runner_.Run(std::move(effects));
}

absl::Time Supervisor::ReconcileLocked(absl::Time now, Effects& effects) {
  std::set<std::string> pending = std::move(touched_);
  touched_.clear();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    pending.insert(timers_.begin()->second);
    timers_.erase(timers_.begin());
  }
  // In name order; a driver touched by another's change in this pass is
  // reconciled in it too, unless it was already (then at the next pass).
  std::set<std::string> done;
  while (!pending.empty()) {
    const std::string name = *pending.begin();
    pending.erase(pending.begin());
    DriverRecord* r = table_.Find(name);
    if (r == nullptr || !done.insert(name).second) continue;
    SetTimerLocked(name, *r, absl::InfiniteFuture());
    SetTimerLocked(name, *r, machine_.Reconcile(name, *r, now, effects));
    PropagateChangesLocked(name);
    for (auto it = touched_.begin(); it != touched_.end();) {
      if (done.count(*it) == 0) {
        pending.insert(*it);
        it = touched_.erase(it);
      } else {
        ++it;
      }
    }
  }
  dirty_ = !touched_.empty();
  return timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first;
}

void Supervisor::OnLaunched(const std::string& driver, uint64_t instance_id,
                            absl::StatusOr<pid_t> pid,
                            std::shared_ptr<DriverEndpoint> endpoint,
                            SandboxReport sandbox) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(driver);
  Instance* inst = r == nullptr ? nullptr : r->FindInstance(instance_id);
  if (inst == nullptr) return;
  if (!pid.ok()) {
    inst->FailBeforeLaunch(std::string(pid.status().message()));
  } else {
    inst->pid = *pid;
    inst->sandbox = std::move(sandbox);
    inst->endpoint = std::move(endpoint);
    // Its exit may have been reported already.
    if (inst->phase == InstancePhase::kLaunching) {
      inst->phase = InstancePhase::kStarting;
    }
    inst->next_probe = clock_.Now();
    context_.Note(driver, *r, "process", "process started", *pid);
    Log(LogLevel::kInfo, "supervisor", "driver process started",
        {{"driver", driver},
         {"pid", std::to_string(*pid)},
         {"socket", inst->socket_path}});
  }
  TouchLocked(driver);
}

void Supervisor::OnExit(const std::string& driver, uint64_t instance_id,
                        const ExitInfo& exit) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(driver);
  Instance* inst = r == nullptr ? nullptr : r->FindInstance(instance_id);
  if (inst == nullptr) return;
  inst->phase = InstancePhase::kExited;
  inst->exit = exit;
  TouchLocked(driver);
}

void Supervisor::OnListening(const std::string& driver, uint64_t instance_id) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(driver);
  Instance* inst = r == nullptr ? nullptr : r->FindInstance(instance_id);
  // Only an instance still waiting to become ready is probed on its way up.
  if (inst == nullptr || inst->phase == InstancePhase::kReady ||
      (inst == r->instance.get() && r->state != DriverState::kStarting)) {
    return;
  }
  inst->next_probe = std::min(inst->next_probe, clock_.Now());
  TouchLocked(driver);
}

void Supervisor::OnLoadDrained(const std::string& driver) {
  absl::MutexLock lock(&mu_);
  TouchLocked(driver);
}

void Supervisor::OnProbe(const std::string& driver, uint64_t instance_id,
                         absl::StatusOr<ProbeResult> result) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(driver);
  Instance* inst = r == nullptr ? nullptr : r->FindInstance(instance_id);
  if (inst == nullptr) return;
  inst->probe_in_flight = false;
  const absl::Time now = clock_.Now();
  const bool ready = result.ok() && result->ready;
  if (!ready) {
    inst->probe_message =
        result.ok() ? result->message : std::string(result.status().message());
  }
  machine_.OnProbe(driver, *r, *inst, ready, now);
  PropagateChangesLocked();
  TouchLocked(driver);
}

std::vector<std::string> Supervisor::StartOrder() {
  absl::MutexLock lock(&mu_);
  return table_.start_order();
}

std::vector<OrderEntry> Supervisor::StartOrderDetails() {
  absl::MutexLock lock(&mu_);
  return table_.StartOrderDetails();
}

std::vector<DriverStatus> Supervisor::List() {
  absl::MutexLock lock(&mu_);
  std::vector<DriverStatus> out;
  for (const std::string& name : table_.start_order()) {
    out.push_back(SnapshotOf(name, *table_.Find(name), clock_.Now(),
                             options_.call_totals));
  }
  return out;
}

absl::StatusOr<DriverStatus> Supervisor::Get(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  return SnapshotOf(std::string(name), *r, clock_.Now(), options_.call_totals);
}

bool Supervisor::SettledLocked(const DriverRecord& r) const {
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
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  while (!SettledLocked(*r) && !shutdown_) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;
    // It may have been removed meanwhile.
    r = table_.Find(name);
    if (r == nullptr) return table_.UnknownDriver(name);
  }
  return SnapshotOf(std::string(name), *r, clock_.Now(), options_.call_totals);
}

void Supervisor::StartAll() {
  std::vector<std::vector<std::string>> levels(3);
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& name : table_.start_order()) {
      const DriverRecord& r = *table_.Find(name);
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
        DriverRecord* r = table_.Find(name);  // removed meanwhile: skip
        if (r == nullptr) continue;
        r->want_running = true;
        longest = std::max(longest, r->package->manifest.timeouts.start);
        TouchLocked(name);
      }
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
    absl::MutexLock lock(&mu_);
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) continue;  // removed meanwhile
    r->want_running = false;
    r->restart_requested = false;
    const absl::Time deadline =
        absl::Now() + r->package->manifest.timeouts.stop + absl::Seconds(5);
    TouchLocked(name);
    AwaitNoProcessLocked(name, deadline);
  }
}

void Supervisor::AcquireRoute(RouteRequest request, RouteCallback done) {
  const std::string& name = request.driver;
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) {
      effects.replies.emplace_back(std::move(done), table_.UnknownDriver(name));
    } else if (absl::Status fits =
                   CheckCallFits(r->package->manifest, name, request.category,
                                 request.resource_type);
               !fits.ok()) {
      // A driver's category never changes across versions: a call for
      // another category's service need not wait for a READY instance.
      effects.replies.emplace_back(std::move(done), std::move(fits));
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
      if (!AnswerWaiter(name, *r, now, w, effects, next)) {
        r->waiters.Park(std::move(w));
        // The loop must wake for this call's deadline if it would sleep
        // past it.
        if (next < r->wake_at) SetTimerLocked(name, *r, next);
        if (next < next_wake_) {
          next_wake_ = next;
          changed_.SignalAll();
        }
      }
    }
  }
  for (auto& [cb, result] : effects.replies) cb(std::move(result));
}

}  // namespace pitstop
