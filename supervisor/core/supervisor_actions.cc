// The Supervisor's operator actions (supervisor.h): each saves the intent
// it records, then applies it under the lock through operator_actions.h or
// the upgrade steps, and touches the driver for the control loop.

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/operator_actions.h"
#include "supervisor/core/resource_target.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {

absl::Status Supervisor::SaveIntent(absl::string_view name,
                                    std::optional<bool> enabled) {
  if (store_ == nullptr) return absl::OkStatus();
  DesiredDriverState next;
  {
    absl::MutexLock lock(&mu_);
    const DriverRecord* r = table_.Find(name);
    if (r == nullptr) return table_.UnknownDriver(name);
    next = DesiredStateOf(*r);
  }
  if (enabled) next.enabled = *enabled;
  if (next.enabled && enabled) {
    next.failed = false;
    next.failed_reason.clear();
  }
  if (absl::Status s = store_->Save(std::string(name), next); !s.ok()) {
    const std::string what =
        !enabled ? absl::StrCat("driver ", name, "'s state")
                 : absl::StrCat("that driver ", name, " should be ",
                                *enabled ? "running" : "stopped");
    return absl::UnavailableError(absl::StrCat(
        "cannot save ", what, " (", s.message(),
        "); nothing was changed: free space in the state directory and try "
        "again"));
  }
  return absl::OkStatus();
}

absl::Status Supervisor::AfterActionLocked(const std::string& name,
                                           absl::Status result) {
  PropagateChangesLocked();
  TouchLocked(name);
  return result;
}

// An operator action: saved first (SaveIntent), then `action` under the
// lock on the driver's record.
template <typename Action>
absl::Status Supervisor::SavedAction(absl::string_view name, bool enabled,
                                     Action action) {
  absl::MutexLock intent(&intent_mu_);
  RETURN_IF_ERROR(SaveIntent(name, enabled));
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  const std::string driver(name);
  return AfterActionLocked(driver, action(driver, *r, clock_.Now()));
}

absl::Status Supervisor::Start(absl::string_view name, absl::string_view by) {
  return SavedAction(
      name, true,
      [this, by](const std::string& d, DriverRecord& r, absl::Time t)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return StartDriver(context_, d, r, t, by);
          });
}

absl::Status Supervisor::Stop(absl::string_view name, absl::string_view by) {
  return SavedAction(
      name, false,
      [this, by](const std::string& d, DriverRecord& r, absl::Time t)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return StopDriver(context_, d, r, t, by);
          });
}

absl::Status Supervisor::Restart(absl::string_view name, bool force,
                                 absl::string_view by) {
  return SavedAction(
      name, true,
      [this, force, by](const std::string& d, DriverRecord& r, absl::Time t)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return RestartDriver(context_, d, r, t, force, by);
          });
}

absl::Status Supervisor::Reset(absl::string_view name, absl::string_view by) {
  return SavedAction(
      name, true,
      [this, by](const std::string& d, DriverRecord& r, absl::Time t)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return ResetDriver(context_, d, r, t, by);
          });
}

absl::StatusOr<uint64_t> Supervisor::Upgrade(absl::string_view name,
                                             absl::string_view version,
                                             UpgradeOptions options) {
  // The version it ends on is saved when the upgrade commits; a store that
  // cannot take that write refuses the upgrade now, before anything moves.
  absl::MutexLock intent(&intent_mu_);
  RETURN_IF_ERROR(SaveIntent(name, std::nullopt));
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  const std::string driver(name);
  absl::StatusOr<uint64_t> started =
      machine_.upgrades().Begin(driver, *r, version, options, clock_.Now());
  if (!started.ok()) return started;
  (void)AfterActionLocked(driver, absl::OkStatus());
  return started;
}

absl::StatusOr<uint64_t> Supervisor::Rollback(absl::string_view name,
                                              UpgradeOptions options) {
  {
    absl::MutexLock intent(&intent_mu_);
    RETURN_IF_ERROR(SaveIntent(name, std::nullopt));
  }
  std::string previous;
  {
    absl::MutexLock lock(&mu_);
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) return table_.UnknownDriver(name);
    if (r->upgrade) {
      const uint64_t seq =
          machine_.upgrades().RequestAbort(std::string(name), *r);
      TouchLocked(std::string(name));
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

absl::StatusOr<uint64_t> Supervisor::ControlCanary(absl::string_view name,
                                                   CanaryAction action) {
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  const std::string driver(name);
  absl::StatusOr<uint64_t> seq =
      action == CanaryAction::kPromote
          ? machine_.canaries().Promote(driver, *r)
          : machine_.canaries().Pause(driver, *r,
                                      action == CanaryAction::kPause);
  if (seq.ok()) TouchLocked(driver);
  return seq;
}

absl::StatusOr<Supervisor::Placement> Supervisor::Where(
    absl::string_view name, absl::string_view resource) {
  absl::MutexLock lock(&mu_);
  const DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  Placement p;
  const Instance* inst =
      ResourceTarget(std::string(name), *r, resource, &p.why, &p.pinned_to);
  // No process may serve it yet: the version it waits for.
  const bool to_canary = r->upgrade && (p.why == "canary" || p.why == "named");
  p.version = inst != nullptr ? inst->package->manifest.version.ToString()
              : to_canary     ? r->upgrade->to->manifest.version.ToString()
                              : r->package->manifest.version.ToString();
  p.pid = inst != nullptr && inst->alive() ? inst->pid : 0;
  for (const Instance* other :
       {r->instance.get(), r->successor.get(), r->retiring.get()}) {
    if (other != nullptr && other != inst && !other->exited() &&
        (other->load->Busy(resource) > 0 ||
         other->held.count(std::string(resource)) > 0)) {
      p.moving_from = other->package->manifest.version.ToString();
    }
  }
  return p;
}

absl::Status Supervisor::SaveDesired(absl::string_view name,
                                     const DesiredDriverState& next,
                                     absl::string_view what) {
  if (store_ == nullptr) return absl::OkStatus();
  if (absl::Status s = store_->Save(std::string(name), next); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot save ", what, " (", s.message(),
        "); nothing was changed: free space in the state directory and try "
        "again"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Supervisor::Pin(absl::string_view name,
                                         absl::string_view resource,
                                         absl::string_view version) {
  const size_t slash = resource.find('/');
  if (slash == absl::string_view::npos || slash == 0 ||
      slash + 1 == resource.size() || resource.size() > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource \"", resource.substr(0, 64),
                     "\" is not TYPE/ID (at most 256 characters), e.g. "
                     "volume/vol-1"));
  }
  const std::string driver(name);
  const std::string key(resource);
  absl::MutexLock intent(&intent_mu_);
  DesiredDriverState next;
  {
    absl::MutexLock lock(&mu_);
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) return table_.UnknownDriver(name);
    auto parsed = SemVer::Parse(version);
    if (!parsed.ok() || r->installed.count(*parsed) == 0) {
      std::vector<std::string> versions;
      for (const auto& [v, p] : r->installed) versions.push_back(v.ToString());
      return absl::NotFoundError(absl::StrCat(
          "driver ", name, " has no installed version ", version, " to pin ",
          resource, " to (installed: ", absl::StrJoin(versions, ", "), ")"));
    }
    if (r->pins.size() >= kMaxPins && r->pins.count(key) == 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("driver ", name, " has ", r->pins.size(),
                       " pinned resources already, the most there may be; "
                       "unpin some first (`pitstop unpin ",
                       name, " TYPE/ID`)"));
    }
    next = DesiredStateOf(*r);
  }
  next.pins[key] = std::string(version);
  RETURN_IF_ERROR(SaveDesired(
      name, next, absl::StrCat("the pin of ", resource, " of ", name)));
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  r->pins[key] = std::string(version);
  const uint64_t seq = context_.Note(
      driver, *r, "operator",
      absl::StrCat(resource, " pinned to version ", version,
                   " (it stays there through upgrades until `pitstop unpin ",
                   name, " ", resource, "`)"));
  TouchLocked(driver);
  return seq;
}

absl::StatusOr<uint64_t> Supervisor::Unpin(absl::string_view name,
                                           absl::string_view resource) {
  const std::string driver(name);
  const std::string key(resource);
  absl::MutexLock intent(&intent_mu_);
  DesiredDriverState next;
  {
    absl::MutexLock lock(&mu_);
    DriverRecord* r = table_.Find(name);
    if (r == nullptr) return table_.UnknownDriver(name);
    if (r->pins.count(key) == 0) {
      return absl::NotFoundError(absl::StrCat(
          resource.substr(0, 64), " of driver ", name, " is not pinned"));
    }
    next = DesiredStateOf(*r);
  }
  next.pins.erase(key);
  RETURN_IF_ERROR(SaveDesired(
      name, next, absl::StrCat("the unpinning of ", resource, " of ", name)));
  absl::MutexLock lock(&mu_);
  DriverRecord* r = table_.Find(name);
  if (r == nullptr) return table_.UnknownDriver(name);
  r->pins.erase(key);
  std::string tail;
  Instance* o = r->retiring.get();
  if (o != nullptr && o->phase == InstancePhase::kStandby && !r->upgrade &&
      !PinnedVersion(*r, o->package->manifest.version.ToString())) {
    // Kept only for pins: it finishes its calls and stops.
    o->phase = InstancePhase::kDraining;
    o->load->SetRetiring(true);
    o->drain_deadline = clock_.Now() + o->package->manifest.timeouts.drain;
    tail = absl::StrCat("; version ", o->package->manifest.version.ToString(),
                        " (pid ", o->pid,
                        "), kept for pins only, stops once drained");
  }
  const uint64_t seq = context_.Note(
      driver, *r, "operator",
      absl::StrCat(resource, " unpinned: it follows the active version", tail));
  TouchLocked(driver);
  return seq;
}

}  // namespace pitstop
