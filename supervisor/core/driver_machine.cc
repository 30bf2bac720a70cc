#include "supervisor/core/driver_machine.h"

#include <algorithm>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"

namespace pitstop {

namespace {

// SIGKILL for `inst`, once.
void Kill(Instance& inst, Effects& effects) {
  effects.signals.emplace_back(inst.pid, SIGKILL);
  inst.kill_sent = true;
}

// A probe of `inst` if one is due and none is in flight.
void ProbeIfDue(const std::string& name, Instance& inst, absl::Time now,
                absl::Time deadline, Effects& effects) {
  if (inst.probe_in_flight || now < inst.next_probe) return;
  inst.probe_in_flight = true;
  effects.probes.push_back({name, inst.id, inst.endpoint, deadline});
}

}  // namespace

DesiredDriverState DesiredStateOf(const DriverRecord& r) {
  DesiredDriverState d;
  d.enabled = r.enabled;
  d.failed = r.state == DriverState::kFailed;
  d.failed_reason = d.failed ? r.last_exit : "";
  // Until an upgrade commits, the version it started from stays active.
  d.active_version =
      (r.upgrade ? r.upgrade->from : r.package)->manifest.version.ToString();
  d.previous_version = r.previous_version;
  if (r.upgrade) d.upgrading_to = r.upgrade->to->manifest.version.ToString();
  if (r.upgrade && r.upgrade->canary && !r.upgrade->cut_over) {
    const CanaryRun& c = *r.upgrade->canary;
    d.canary =
        SavedCanary{c.plan, c.step, c.paused, r.upgrade->options.drain_timeout,
                    r.upgrade->options.probation};
  }
  d.pins = r.pins;
  return d;
}

absl::Time DriverMachine::Reconcile(const std::string& name, DriverRecord& r,
                                    absl::Time now, Effects& effects) {
  // The processes beside the serving one, and the upgrade they serve.
  canaries_.Reconcile(name, r, now, effects);
  upgrades_.Reconcile(name, r, now, effects);
  ReconcileSuccessor(name, r, now, effects);
  ReconcileRetiring(name, r, now, effects);
  if (!HandleExit(name, r, now, effects)) {
    if (r.instance) {
      ReconcileServing(name, r, now, effects);
    } else {
      StartIfDue(name, r, now, effects);
    }
  }
  if (r.persist_pending) {
    r.persist_pending = false;
    effects.persist.emplace_back(name, DesiredStateOf(r));
  }
  absl::Time next = NextTimer(r);
  r.waiters.Resolve(
      [&](Waiter& w) { return AnswerWaiter(name, r, now, w, effects, next); });
  return next;
}

absl::Time DriverMachine::NextTimer(const DriverRecord& r) const {
  const SupervisorOptions& options = context_.options();
  absl::Time next = absl::InfiniteFuture();
  if (r.upgrade) next = std::min(next, r.upgrade->probation_until);
  if (r.upgrade && r.upgrade->canary) {
    next = std::min(next, r.upgrade->canary->gate_due);
  }
  if (r.state == DriverState::kBackoff && !r.instance) {
    next = std::min(next, r.backoff_until);
  }
  if (const Instance* inst = r.instance.get()) {
    if (r.state == DriverState::kStarting) {
      next = std::min(next, inst->start_deadline);
      if (!inst->probe_in_flight && inst->launched()) {
        next = std::min(next, inst->next_probe);
      }
    }
    if (!inst->kill_sent) next = std::min(next, inst->kill_at);
    if ((r.state == DriverState::kReady || r.state == DriverState::kDegraded) &&
        !inst->probe_in_flight) {
      next = std::min(next, inst->next_probe);
    }
    if (r.state == DriverState::kDegraded) {
      next = std::min(next, r.state_since + options.degraded_grace);
    }
  }
  if (const Instance* s = r.successor.get()) {
    // A successor serving a canary's share is past its start.
    if (s->phase != InstancePhase::kReady) {
      next = std::min(next, s->start_deadline);
    }
    if (!s->probe_in_flight && s->launched()) {
      next = std::min(next, s->next_probe);
    }
  }
  if (const Instance* o = r.retiring.get()) {
    if (o->phase == InstancePhase::kStopping) {
      next = std::min(next, o->kill_at);
    } else if (!o->cancel_sent) {
      next = std::min(next, o->drain_deadline);
    }
  }
  return next;
}

void DriverMachine::StartSuccessor(const std::string& name, DriverRecord& r,
                                   absl::Time now, Effects& effects) {
  if (upgrades_.AbandonIfAborted(name, r)) return;
  if (!r.graceful_requested || r.successor) return;
  if (r.upgrade && r.upgrade->canary && r.upgrade->canary->resuming &&
      r.instance && r.state == DriverState::kStarting) {
    return;  // the re-adopted old version answers first
  }
  if (r.want_running && r.state == DriverState::kReady && r.instance &&
      !r.retiring) {
    Effects::Launch launch;
    const bool upgrading = r.upgrade.has_value();
    const std::string to =
        upgrading ? r.upgrade->to->manifest.version.ToString() : "";
    r.successor = context_.NewInstance(
        name, upgrading ? r.upgrade->to : r.package, now, &launch);
    r.message = upgrading ? absl::StrCat("upgrading to ", to,
                                         ": the new version is starting")
                          : "graceful restart: a new instance is starting";
    context_.Note(name, r, "process",
                  upgrading
                      ? absl::StrCat("upgrade: starting version ", to,
                                     " beside the serving ",
                                     r.package->manifest.version.ToString())
                      : "graceful restart: starting a new instance "
                        "beside the serving one");
    if (!r.successor->exited()) effects.launches.push_back(std::move(launch));
  } else if (!r.upgrade && !r.retiring) {
    // Nothing serves: stopping and starting is as good.
    r.graceful_requested = false;
    r.restart_requested = r.instance != nullptr;
  } else if (!r.retiring) {
    // Not READY any more (it died or degraded before the new version
    // could start): switch versions by a plain restart.
    upgrades_.SwitchByRestart(name, r);
  }
}

void DriverMachine::ReconcileSuccessor(const std::string& name, DriverRecord& r,
                                       absl::Time now, Effects& effects) {
  StartSuccessor(name, r, now, effects);
  if (!r.successor) return;
  const SupervisorOptions& options = context_.options();
  const DriverManifest& m = r.successor->package->manifest;
  Instance& s = *r.successor;
  if (s.exited()) {
    const std::string how = s.ExitText();
    if (r.upgrade) {
      upgrades_.SuccessorFailed(name, r, how, s.pid);
    } else {
      r.message = absl::StrCat("graceful restart failed: the new instance ",
                               how, "; the old one keeps serving");
      context_.Note(name, r, "process", r.message, s.pid);
    }
    effects.remove_dirs.push_back(s.dir);
    r.successor.reset();
    r.graceful_requested = false;
    context_.Changed(name);
    return;
  }
  if (!s.launched()) return;
  if (!r.want_running && !s.kill_sent) {
    // It never served: no need to be gentle.
    Kill(s, effects);
    return;
  }
  if (s.phase == InstancePhase::kReady && r.instance && !s.kill_sent) {
    if (canaries_.Serve(name, r, now)) {
      ProbeIfDue(name, s, now,
                 now + std::min(options.probe_timeout, options.health_interval),
                 effects);
    } else {
      CutOver(name, r, now);
    }
    return;
  }
  if (s.kill_sent) return;
  if (now >= s.start_deadline) {
    s.failure = absl::StrCat("did not become ready within ",
                             ShortDuration(m.timeouts.start));
    Kill(s, effects);
  } else {
    ProbeIfDue(name, s, now,
               std::min(now + options.probe_timeout, s.start_deadline),
               effects);
  }
}

void DriverMachine::CutOver(const std::string& name, DriverRecord& r,
                            absl::Time now) {
  // New calls go to the successor from now on, each resource once its calls
  // on the old instance have ended.
  const DriverManifest& m = r.successor->package->manifest;
  r.retiring = std::move(r.instance);
  r.retiring->load->SetRetiring(true);
  r.retiring->phase = InstancePhase::kDraining;
  r.instance = std::move(r.successor);
  r.instance->next_probe = now + context_.options().health_interval;
  r.graceful_requested = false;
  r.message.clear();
  // The old instance may have turned DEGRADED meanwhile; the new one has
  // just answered its probe.
  context_.SetState(name, r, DriverState::kReady, now);
  if (r.upgrade) {
    upgrades_.CutOver(name, r, now);
  } else {
    r.retiring->drain_deadline = now + m.timeouts.drain;
    context_.Note(name, r, "process",
                  absl::StrCat("graceful restart: pid ", r.instance->pid,
                               " serves; pid ", r.retiring->pid, " drains"),
                  r.instance->pid);
  }
  r.policy.OnReady(now);
  context_.Changed(name);
}

void DriverMachine::NoteDrainedResources(const std::string& name,
                                         DriverRecord& r) {
  // Report each resource that was busy at the cut-over as it drains.
  const Instance& o = *r.retiring;
  std::vector<std::string> still;
  for (const std::string& resource : r.upgrade->draining) {
    if (o.load->Busy(resource) > 0) {
      still.push_back(resource);
    } else {
      context_.Note(
          name, r, "upgrade-resource-drained",
          absl::StrCat(resource, " has no call left on ",
                       o.package->manifest.version.ToString(),
                       "; its calls go to ",
                       r.instance->package->manifest.version.ToString()),
          o.pid);
    }
  }
  r.upgrade->draining = std::move(still);
}

void DriverMachine::ReconcileRetiring(const std::string& name, DriverRecord& r,
                                      absl::Time now, Effects& effects) {
  if (!r.retiring) return;
  Instance& o = *r.retiring;
  const std::string version = o.package->manifest.version.ToString();
  if (o.exited()) {
    const std::string how = o.ExitText();
    if (o.rolled_back) {
      context_.Note(name, r, "process",
                    absl::StrCat("the rolled-back version ", version, " (pid ",
                                 o.pid, ") stopped: ", how),
                    o.pid);
    } else if (o.package != r.package) {
      context_.Note(name, r, "upgrade-old-stopped",
                    absl::StrCat("version ", version, " (pid ", o.pid,
                                 ") stopped: ", how),
                    o.pid);
    } else {
      context_.Note(name, r, "process",
                    absl::StrCat("the replaced instance ended: ", how), o.pid);
    }
    effects.remove_dirs.push_back(o.dir);
    r.retiring.reset();
    context_.Changed(name);
    return;
  }
  const int calls = o.load->calls();
  if (r.upgrade && r.upgrade->cut_over) NoteDrainedResources(name, r);
  if (calls == 0 && !o.drained_noted) {
    o.drained_noted = true;
    context_.Note(
        name, r,
        o.package != r.package && !o.rolled_back ? "upgrade-drained"
                                                 : "process",
        absl::StrCat("version ", version, " (pid ", o.pid, ") has no call left",
                     o.phase == InstancePhase::kStandby
                         ? "; kept until the upgrade commits"
                         : ""),
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
    if (o.phase == InstancePhase::kStandby) o.phase = InstancePhase::kDraining;
    effects.cancels.push_back(o.load);
    context_.Note(name, r, "drain-timeout",
                  absl::StrCat(calls, " calls still running on version ",
                               version, " (pid ", o.pid,
                               ") after the drain timeout are cancelled; it "
                               "stops, and their resources wait until it has "
                               "exited"),
                  o.pid);
  }
  if (o.phase == InstancePhase::kStandby && r.want_running) return;
  if (o.phase != InstancePhase::kStopping &&
      (calls == 0 || now >= o.drain_deadline || !r.want_running)) {
    effects.signals.emplace_back(o.pid, SIGTERM);
    o.phase = InstancePhase::kStopping;
    o.kill_at = now + o.package->manifest.timeouts.stop;
  } else if (o.phase == InstancePhase::kStopping && !o.kill_sent &&
             now >= o.kill_at) {
    Kill(o, effects);
  }
}

bool DriverMachine::HandleExit(const std::string& name, DriverRecord& r,
                               absl::Time now, Effects& effects) {
  if (!r.instance || !r.instance->exited()) return false;
  Instance& inst = *r.instance;
  const std::string how = inst.ExitText();
  r.last_exit = how;
  context_.Note(name, r, "process", absl::StrCat("process ", how), inst.pid);
  const bool expected = r.state == DriverState::kStopping;
  const bool was_starting = r.state == DriverState::kStarting;
  effects.remove_dirs.push_back(inst.dir);
  r.instance.reset();
  context_.Changed(name);
  if (r.successor && r.want_running) {
    // It died during a graceful restart: the new instance takes over.
    r.instance = std::move(r.successor);
    r.graceful_requested = false;
    r.message = absl::StrCat("died during a graceful restart: ", how,
                             "; the new instance takes over");
    if (r.upgrade) upgrades_.OldDied(name, r, now, how);
    const bool ready = r.instance->phase == InstancePhase::kReady;
    context_.SetState(
        name, r, ready ? DriverState::kReady : DriverState::kStarting, now);
    if (ready) r.instance->next_probe = now;
    return true;
  }
  if (expected || !r.want_running) {
    r.message = r.restart_requested ? "restarting" : "";
    r.restart_requested = false;
    context_.SetState(name, r, DriverState::kStopped, now);
  } else {
    HandleRestartPolicy(name, r, now, how, was_starting);
  }
  return false;
}

void DriverMachine::HandleRestartPolicy(const std::string& name,
                                        DriverRecord& r, absl::Time now,
                                        const std::string& how,
                                        bool was_starting) {
  RestartPolicy::Decision d = r.policy.OnExit(now);
  ++r.restarts;
  if (d.give_up) {
    r.message = absl::StrCat(
        "gave up after ", r.policy.recent_restarts(), " exits within ",
        ShortDuration(r.policy.options().window), "; last: ", how,
        ". Fix the cause, then run `pitstop restart ", name, "`");
    context_.SetState(name, r, DriverState::kFailed, now);
    r.persist_pending = true;
    return;
  }
  r.backoff_until = now + d.delay;
  r.message = absl::StrCat(
      was_starting ? "failed to start: " : "died: ", how,
      d.delay == absl::ZeroDuration()
          ? "; restarting now"
          : absl::StrCat("; restarting in ", ShortDuration(d.delay)));
  context_.SetState(name, r, DriverState::kBackoff, now);
}

void DriverMachine::StartIfDue(const std::string& name, DriverRecord& r,
                               absl::Time now, Effects& effects) {
  if (!r.want_running && r.state == DriverState::kBackoff) {
    context_.SetState(name, r, DriverState::kStopped, now);
  }
  if (!r.unresolved.empty()) {
    r.message = absl::StrCat("cannot start: ", r.unresolved);
    return;
  }
  const bool due = r.state == DriverState::kStopped ||
                   (r.state == DriverState::kBackoff && now >= r.backoff_until);
  if (!r.want_running || !due) return;
  std::string waiting_for;
  if (!context_.table().DependenciesReady(r, &waiting_for)) {
    r.message = absl::StrCat("waiting for required driver ", waiting_for,
                             " to be READY");
    return;
  }
  Effects::Launch launch;
  r.instance = context_.NewInstance(name, r.package, now, &launch);
  r.message.clear();
  context_.SetState(name, r, DriverState::kStarting, now);
  if (!r.instance->exited()) effects.launches.push_back(std::move(launch));
}

void DriverMachine::ReconcileServing(const std::string& name, DriverRecord& r,
                                     absl::Time now, Effects& effects) {
  const SupervisorOptions& options = context_.options();
  const DriverManifest& m = r.package->manifest;
  Instance& inst = *r.instance;
  const bool should_stop = !r.want_running || r.restart_requested;
  if (should_stop && inst.launched() &&
      (r.state == DriverState::kStarting || r.state == DriverState::kReady ||
       r.state == DriverState::kDegraded)) {
    effects.signals.emplace_back(inst.pid, SIGTERM);
    inst.phase = InstancePhase::kStopping;
    inst.kill_at = now + m.timeouts.stop;
    context_.SetState(name, r, DriverState::kStopping, now);
  }
  if (inst.launched() && !inst.kill_sent && now >= inst.kill_at) {
    effects.signals.emplace_back(inst.pid, SIGKILL);
    inst.kill_sent = true;
    Log(LogLevel::kWarning, "supervisor",
        absl::StrCat("driver ", name, " did not stop within ",
                     ShortDuration(m.timeouts.stop), "; sent SIGKILL"),
        {{"driver", name}});
  }
  if (r.state == DriverState::kStarting && inst.launched()) {
    if (now >= inst.start_deadline && !inst.kill_sent) {
      inst.failure = absl::StrCat(
          "did not become ready within ", ShortDuration(m.timeouts.start),
          inst.probe_message.empty() ? "" : " (last probe: ",
          inst.probe_message, inst.probe_message.empty() ? "" : ")");
      Kill(inst, effects);
    } else {
      ProbeIfDue(name, inst, now,
                 std::min(now + options.probe_timeout, inst.start_deadline),
                 effects);
    }
  }
  ReconcileHealth(name, r, now, effects);
}

void DriverMachine::ReconcileHealth(const std::string& name, DriverRecord& r,
                                    absl::Time now, Effects& effects) {
  // A serving instance is probed now and then; one that keeps failing is
  // DEGRADED, then replaced (a hung driver).
  const SupervisorOptions& options = context_.options();
  Instance& inst = *r.instance;
  if ((r.state != DriverState::kReady && r.state != DriverState::kDegraded) ||
      !inst.launched() || inst.kill_sent) {
    return;
  }
  if (r.state == DriverState::kDegraded &&
      now - r.state_since >= options.degraded_grace) {
    inst.failure = absl::StrCat(
        "stopped answering its probe for ",
        ShortDuration(now - r.state_since +
                      options.health_interval * options.health_failures),
        " (last probe: ", inst.probe_message, ")");
    Kill(inst, effects);
  } else {
    ProbeIfDue(name, inst, now,
               now + std::min(options.probe_timeout, options.health_interval),
               effects);
  }
}

void DriverMachine::OnProbe(const std::string& driver, DriverRecord& r,
                            Instance& inst, bool ready, absl::Time now) {
  const SupervisorOptions& options = context_.options();
  if (&inst != r.instance.get()) {
    // The successor of a graceful restart (a retiring one is not probed).
    if (&inst == r.successor.get() && inst.phase == InstancePhase::kReady &&
        r.upgrade && r.upgrade->canary && r.upgrade->canary->serving) {
      canaries_.OnProbe(r, ready, now);
    } else if (!ready) {
      inst.next_probe = now + options.probe_interval;
    } else if (inst.phase == InstancePhase::kStarting) {
      inst.phase = InstancePhase::kReady;
    }
    return;
  }
  if (r.state == DriverState::kStarting) {
    if (ready && !inst.exited()) {
      r.policy.OnReady(now);
      r.message.clear();
      inst.next_probe = now + options.health_interval;
      if (inst.phase == InstancePhase::kStarting) {
        inst.phase = InstancePhase::kReady;
      }
      context_.SetState(driver, r, DriverState::kReady, now);
    } else {
      inst.next_probe = now + options.probe_interval;
    }
    return;
  }
  if (r.state != DriverState::kReady && r.state != DriverState::kDegraded) {
    return;
  }
  inst.next_probe = now + options.health_interval;
  if (ready) {
    inst.health_failures = 0;
    if (r.state == DriverState::kDegraded) {
      r.message = "recovered: its probe answers again";
      context_.SetState(driver, r, DriverState::kReady, now);
      r.message.clear();
    }
  } else if (++inst.health_failures >= options.health_failures &&
             r.state == DriverState::kReady) {
    r.message = absl::StrCat(inst.health_failures, " probes failed in a row (",
                             inst.probe_message, "); no new calls go to it");
    context_.SetState(driver, r, DriverState::kDegraded, now);
  }
}

void DriverMachine::Restore(const std::string& name, DriverRecord& r,
                            const DesiredDriverState* saved) {
  // Active: the saved version if still installed, else the highest.
  std::shared_ptr<const DriverPackage> active = r.installed.rbegin()->second;
  if (saved != nullptr && !saved->active_version.empty()) {
    auto v = SemVer::Parse(saved->active_version);
    auto found = v.ok() ? r.installed.find(*v) : r.installed.end();
    if (found != r.installed.end()) {
      active = found->second;
    } else {
      context_.Note(name, r, "upgrade",
                    absl::StrCat("the active version ", saved->active_version,
                                 " is no longer installed; ",
                                 active->manifest.version.ToString(),
                                 " is active instead"));
      r.persist_pending = true;
    }
  }
  if (active != r.package) context_.SetPackage(r, active);
  if (saved == nullptr) return;
  r.previous_version = saved->previous_version;
  for (const auto& [resource, version] : saved->pins) {
    auto v = SemVer::Parse(version);
    if (v.ok() && r.installed.count(*v) > 0) {
      r.pins[resource] = version;
    } else {
      context_.Note(name, r, "operator",
                    absl::StrCat("the pin of ", resource, " to ", version,
                                 " was dropped: that version is no longer "
                                 "installed"));
      r.persist_pending = true;
    }
  }
  // A canary may go on: Supervisor::AdoptSurvivors decides, and reports.
  if (!saved->upgrading_to.empty() && !MayResumeCanary(*saved)) {
    context_.Note(name, r, "upgrade-rolled-back",
                  InterruptedByRestart(saved->upgrading_to,
                                       active->manifest.version.ToString()));
    r.persist_pending = true;
  }
}

}  // namespace pitstop
