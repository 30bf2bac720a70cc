#include "supervisor/core/upgrade_run.h"

#include <algorithm>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/machine_context.h"
#include "supervisor/core/resource_target.h"

namespace pitstop {
namespace {

// A standby instance no longer waits for a commit: it stops once drained.
void EndStandby(Instance* inst) {
  if (inst != nullptr && inst->phase == InstancePhase::kStandby) {
    inst->phase = InstancePhase::kDraining;
  }
}

std::string Version(const std::shared_ptr<const DriverPackage>& p) {
  return p->manifest.version.ToString();
}

}  // namespace

std::string DescribeUpgrade(const UpgradeRun& u) {
  if (u.canary && !u.cut_over) {
    const CanaryRun& c = *u.canary;
    return absl::StrCat(
        Version(u.from), " -> ", Version(u.to), ": canary ",
        !c.serving
            ? (c.percent() >= 100 ? "promoted, cutting over"
               : c.resuming       ? absl::StrCat("at ", Percent(c.percent()),
                                                 ", waiting for the new version to "
                                                       "answer after a restart of pitstopd")
                                  : "starting the new version")
            : absl::StrCat(
                  "at ", Percent(c.percent()), " (step ", c.step + 1, " of ",
                  c.plan.steps.size(), ")", c.paused ? ", paused" : "",
                  ", gate at ",
                  absl::FormatTime("%H:%M:%S", c.gate_due, absl::UTCTimeZone()),
                  " UTC"));
  }
  return absl::StrCat(
      Version(u.from), " -> ", Version(u.to), ": ",
      !u.cut_over
          ? "the new version is starting"
          : absl::StrCat("on probation until ",
                         absl::FormatTime(absl::RFC3339_sec, u.probation_until,
                                          absl::UTCTimeZone())));
}

absl::StatusOr<uint64_t> UpgradeSteps::Begin(const std::string& name,
                                             DriverRecord& r,
                                             absl::string_view version,
                                             UpgradeOptions options,
                                             absl::Time now) {
  auto parsed = SemVer::Parse(version);
  auto it = parsed.ok() ? r.installed.find(*parsed) : r.installed.end();
  if (it == r.installed.end()) {
    std::vector<std::string> versions;
    for (const auto& [v, p] : r.installed) versions.push_back(v.ToString());
    return absl::NotFoundError(absl::StrCat(
        "driver ", name, " has no installed version ", version,
        " (installed: ", absl::StrJoin(versions, ", "),
        "); install it first (`pitstop install FILE.car`), or upgrade from "
        "the CAR (`pitstop upgrade ",
        name, " --car FILE.car`)"));
  }
  std::shared_ptr<const DriverPackage> to = it->second;
  if (r.upgrade) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " is already being upgraded from ",
                     Version(r.upgrade->from), " to ", Version(r.upgrade->to),
                     "; wait for it to commit or roll back (`pitstop rollback ",
                     name, "` abandons it)"));
  }
  if (to == r.package) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " already runs version ", version,
        "; for a graceful restart use `pitstop restart ", name, "`"));
  }
  if (r.retiring && r.retiring->phase == InstancePhase::kStandby &&
      PinnedVersion(r, Version(r.retiring->package))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " still runs version ", Version(r.retiring->package),
        " beside ", Version(r.package),
        " for its pinned resources, and at most two versions run at once: "
        "unpin them first (`pitstop unpin ",
        name, " TYPE/ID`; `pitstop describe ", name, "` lists the pins)"));
  }
  if (r.successor || r.retiring || r.graceful_requested) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name,
        " is still replacing an instance (a graceful restart, or the old "
        "version of the last upgrade draining); at most two versions run at "
        "once: try again when `pitstop describe ",
        name, "` shows one instance"));
  }
  if (std::string blocker = context_.table().UpgradeBlocker(name, *to);
      !blocker.empty()) {
    return absl::FailedPreconditionError(blocker);
  }
  if (options.canary) {
    RETURN_IF_ERROR(CheckCanaryPlan(*options.canary));
    if (!context_.options().call_totals) {
      return absl::FailedPreconditionError(
          "a canary's gate compares the versions' calls, and this pitstopd "
          "does not count them (count_calls: false in its configuration): "
          "turn counting on, or upgrade without --canary");
    }
    if (!(r.want_running && r.state == DriverState::kReady && r.instance)) {
      return absl::FailedPreconditionError(
          absl::StrCat("a canary runs both versions side by side, and driver ",
                       name, " is ", DriverStateName(r.state),
                       ": start it first, or upgrade without --canary"));
    }
  }
  UpgradeRun u;
  u.from = r.package;
  u.to = to;
  u.options = options;
  if (u.options.drain_timeout <= absl::ZeroDuration()) {
    u.options.drain_timeout = u.from->manifest.timeouts.drain;
  }
  if (u.options.probation <= absl::ZeroDuration()) {
    u.options.probation = context_.options().upgrade_probation;
  }
  u.started = now;
  if (options.canary) {
    u.canary.emplace();
    u.canary->plan = *options.canary;
  }
  const std::string from = Version(u.from);
  const uint64_t started = context_.Note(
      name, r, "upgrade-started",
      absl::StrCat(
          "from ", from, " to ", version,
          u.canary
              ? absl::StrCat(" as a canary, steps ",
                             DescribeSteps(u.canary->plan.steps), " every ",
                             ShortDuration(u.canary->plan.interval))
              : "",
          " (drain timeout ", ShortDuration(u.options.drain_timeout),
          ", probation ", ShortDuration(u.options.probation), ")"));
  r.persist_pending = true;
  if (r.want_running && r.state == DriverState::kReady && r.instance) {
    r.upgrade = std::move(u);
    r.graceful_requested = true;
    return started;
  }
  // Nothing serves: switch versions; a driver trying to run restarts.
  r.previous_version = from;
  context_.SetPackage(r, to);
  if (r.instance && r.want_running) r.restart_requested = true;
  if (r.state == DriverState::kFailed) {
    r.want_running = r.enabled;
    r.restarts = 0;
    context_.SetState(name, r, DriverState::kStopped, now);
  }
  context_.table().RecomputeOrder();
  context_.Note(name, r, "upgrade-committed",
                absl::StrCat("version ", version,
                             " is active; the driver was not serving, so it "
                             "switched without running both versions"));
  return started;
}

uint64_t UpgradeSteps::RequestAbort(const std::string& name, DriverRecord& r) {
  r.upgrade->abort_cause = "was rolled back by an operator";
  return context_.Note(name, r, "operator",
                       absl::StrCat("rollback of the upgrade to ",
                                    Version(r.upgrade->to), " requested"));
}

std::string InterruptedByRestart(absl::string_view to, absl::string_view active,
                                 absl::string_view why) {
  return absl::StrCat(
      "the upgrade to ", to,
      " was interrupted by a restart of pitstopd before it committed; ", active,
      " stays active",
      why.empty() ? "" : absl::StrCat(" (its canary cannot go on: ", why, ")"));
}

void UpgradeSteps::End(const std::string& name, DriverRecord& r) {
  if (r.retiring && !PinnedVersion(r, Version(r.retiring->package))) {
    EndStandby(r.retiring.get());
  }
  r.upgrade.reset();
  r.persist_pending = true;
  context_.table().RecomputeOrder();
  context_.Changed(name);
}

void UpgradeSteps::CutOver(const std::string& name, DriverRecord& r,
                           absl::Time now) {
  UpgradeRun& u = *r.upgrade;
  const std::string to = Version(u.to);
  context_.Note(name, r, "upgrade-ready",
                absl::StrCat("version ", to, " is ready"), r.instance->pid);
  u.cut_over = true;
  u.canary.reset();          // promoted: every resource moves now
  r.persist_pending = true;  // a restart from here on rolls back
  u.probation_until = now + u.options.probation;
  u.draining = r.retiring->load->BusyResources();
  std::sort(u.draining.begin(), u.draining.end());
  r.retiring->phase = InstancePhase::kStandby;
  // A version pins keep serves on: its calls are not cut at the timeout.
  r.retiring->drain_deadline = PinnedVersion(r, Version(u.from))
                                   ? absl::InfiniteFuture()
                                   : now + u.options.drain_timeout;
  context_.SetPackage(r, u.to);
  context_.table().RecomputeOrder();
  r.message = absl::StrCat(
      "upgrading from ", Version(u.from), ": on probation until ",
      absl::FormatTime("%H:%M:%E3S", u.probation_until, absl::UTCTimeZone()),
      " UTC");
  context_.Note(name, r, "upgrade-cut-over",
                absl::StrCat("new calls go to ", to, "; ", u.draining.size(),
                             " resources still busy on ", Version(u.from),
                             " move when their calls there end"),
                r.instance->pid);
}

void UpgradeSteps::OldDied(const std::string& name, DriverRecord& r,
                           absl::Time now, const std::string& how) {
  // The new version takes over early, on probation, with nothing to roll
  // back to but a restart of the old version.
  UpgradeRun& u = *r.upgrade;
  u.cut_over = true;
  if (u.canary) {
    u.canary.reset();  // nothing left to compare it with
    context_.Note(
        name, r, "canary-step",
        absl::StrCat("the old version died during the canary; ", Version(u.to),
                     " takes every resource, on probation"));
  }
  // Its probation starts once it is READY.
  u.probation_until = r.instance->phase == InstancePhase::kReady
                          ? now + u.options.probation
                          : absl::InfiniteFuture();
  context_.SetPackage(r, u.to);
  context_.table().RecomputeOrder();
  r.message = absl::StrCat("the old version died during the upgrade (", how,
                           "); ", Version(u.to), " takes over on probation");
  context_.Note(name, r, "upgrade-cut-over", r.message, r.instance->pid);
}

void UpgradeSteps::SuccessorFailed(const std::string& name, DriverRecord& r,
                                   const std::string& how, pid_t pid) {
  const bool resuming = r.upgrade->canary && r.upgrade->canary->resuming;
  r.message = absl::StrCat(
      "upgrade to ", Version(r.upgrade->to), " rolled back: the new version ",
      how,
      resuming ? " before it answered again after a restart of pitstopd"
               : " before it became ready",
      "; ", Version(r.package), " keeps serving");
  context_.Note(name, r, "upgrade-rolled-back", r.message, pid);
  End(name, r);
  r.persist_pending = true;
}

bool UpgradeSteps::AbandonIfAborted(const std::string& name, DriverRecord& r) {
  if (!r.graceful_requested || r.successor || !r.upgrade ||
      r.upgrade->abort_cause.empty()) {
    return false;
  }
  r.graceful_requested = false;
  r.message.clear();
  context_.Note(
      name, r, "upgrade-rolled-back",
      absl::StrCat("the upgrade to ", Version(r.upgrade->to), " ",
                   r.upgrade->abort_cause, " before the new version started; ",
                   Version(r.package), " stays active"));
  End(name, r);
  return true;
}

void UpgradeSteps::SwitchByRestart(const std::string& name, DriverRecord& r) {
  const std::string to = Version(r.upgrade->to);
  context_.SetPackage(r, r.upgrade->to);
  r.previous_version = Version(r.upgrade->from);
  End(name, r);
  r.graceful_requested = false;
  r.restart_requested = r.instance != nullptr;
  r.persist_pending = true;
  context_.Note(name, r, "upgrade-committed",
                absl::StrCat("version ", to,
                             " is active; the driver was not READY, so it "
                             "restarts instead of running both versions"));
}

void UpgradeSteps::RollBack(const std::string& name, DriverRecord& r,
                            absl::Time now, const std::string& cause,
                            Effects& effects) {
  UpgradeRun& u = *r.upgrade;
  std::unique_ptr<Instance> failed = std::move(r.instance);
  r.instance = std::move(r.retiring);
  Instance& old = *r.instance;
  old.phase = InstancePhase::kReady;
  old.load->SetRetiring(false);
  old.drain_deadline = absl::InfiniteFuture();
  old.drained_noted = false;
  old.cancel_sent = false;
  old.health_failures = 0;
  old.next_probe = now;
  context_.SetPackage(r, u.from);
  const pid_t failed_pid = failed->pid;
  if (failed->exited()) {
    r.last_exit = failed->ExitText();
    effects.remove_dirs.push_back(failed->dir);
  } else {
    // Alive but failing: it finishes (or is cancelled from) what it has,
    // resource by resource, like any replaced instance, then stops.
    failed->load->SetRetiring(true);
    failed->drain_deadline = now + u.options.drain_timeout;
    failed->phase = InstancePhase::kDraining;
    failed->rolled_back = true;
    r.retiring = std::move(failed);
  }
  r.message = absl::StrCat("upgrade to ", Version(u.to),
                           " rolled back: the new version ", cause, "; ",
                           Version(u.from), " serves again");
  context_.Note(name, r, "upgrade-rolled-back", r.message, failed_pid);
  context_.SetState(name, r, DriverState::kReady, now);
  End(name, r);
}

std::string UpgradeSteps::FailureCause(const DriverRecord& r) const {
  const Instance* inst = r.instance.get();
  if (inst == nullptr) return "ended";
  if (inst->exited()) {
    return absl::StrCat("crashed during its probation (", inst->ExitText(),
                        ")");
  }
  if (r.state == DriverState::kDegraded) {
    return absl::StrCat("failed its probes during its probation (",
                        inst->probe_message, ")");
  }
  return r.upgrade->abort_cause;
}

void UpgradeSteps::Commit(const std::string& name, DriverRecord& r,
                          Effects& effects) {
  UpgradeRun& u = *r.upgrade;
  const std::string from = Version(u.from);
  Instance* old = r.retiring.get();
  r.previous_version = from;
  const bool pinned = old != nullptr && PinnedVersion(r, from);
  if (!pinned) EndStandby(old);  // it stops once drained
  r.message.clear();
  // Announced once the new active version is saved (after the lock), so
  // that no one is told "committed" about an upgrade a crash could still
  // undo.
  effects.after_persist.push_back(context_.MakeEvent(
      name, r, "upgrade-committed",
      absl::StrCat("version ", Version(u.to), " is active after ",
                   ShortDuration(u.options.probation), " of probation; ", from,
                   pinned           ? " keeps serving its pinned resources"
                   : old != nullptr ? " stops once drained"
                                    : " ended",
                   " (`pitstop rollback ", name, "` returns to it)"),
      r.instance->pid));
  End(name, r);
}

void UpgradeSteps::Reconcile(const std::string& name, DriverRecord& r,
                             absl::Time now, Effects& effects) {
  if (!r.upgrade) return;
  UpgradeRun& u = *r.upgrade;
  const std::string to = Version(u.to);
  const std::string from = Version(u.from);
  if (!r.want_running) {
    // Stopped or removed mid-upgrade: the version it started from stays
    // active; the processes stop the usual way.
    context_.SetPackage(r, u.from);
    r.message.clear();
    context_.Note(name, r, "upgrade-rolled-back",
                  absl::StrCat("the upgrade to ", to,
                               " was abandoned because the driver is "
                               "stopping; ",
                               from, " stays active"));
    End(name, r);
    return;
  }
  if (!u.cut_over) {
    Instance* s = r.successor.get();
    if (!u.abort_cause.empty() && s != nullptr && s->launched() &&
        !s->kill_sent) {
      s->failure = u.abort_cause;
      effects.signals.emplace_back(s->pid, SIGKILL);
      s->kill_sent = true;
    }
    return;
  }
  Instance* inst = r.instance.get();
  const Instance* old = r.retiring.get();
  if (std::string cause = FailureCause(r); !cause.empty()) {
    if (old != nullptr && !old->exited() &&
        old->phase != InstancePhase::kStopping) {
      RollBack(name, r, now, cause, effects);
      return;
    }
    // The old instance is gone too: the version it ran restarts.
    context_.SetPackage(r, u.from);
    r.message =
        absl::StrCat("upgrade to ", to, " rolled back: the new version ", cause,
                     "; ", from, " restarts");
    context_.Note(name, r, "upgrade-rolled-back", r.message);
    if (inst != nullptr && inst->alive()) r.restart_requested = true;
    End(name, r);
    return;
  }
  if (u.probation_until == absl::InfiniteFuture() &&
      r.state == DriverState::kReady) {
    // It took over while still starting: the probation starts now.
    u.probation_until = now + u.options.probation;
  }
  if (now >= u.probation_until && r.state == DriverState::kReady) {
    Commit(name, r, effects);
  }
}

}  // namespace pitstop
