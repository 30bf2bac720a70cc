#include "supervisor/core/canary_steps.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/desired_state.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/machine_context.h"

namespace pitstop {
namespace {

std::string Version(const std::shared_ptr<const DriverPackage>& p) {
  return p->manifest.version.ToString();
}

std::string ClockTime(absl::Time t) {
  return absl::FormatTime("%H:%M:%S", t, absl::UTCTimeZone());
}

// "10% (step 1 of 3)".
std::string Where(const CanaryRun& c) {
  return absl::StrCat(Percent(c.percent()), " (step ", c.step + 1, " of ",
                      c.plan.steps.size(), ")");
}

std::string GateText(const CanaryGate& g) {
  return absl::StrCat("errors at most ",
                      Percent(g.max_error_rate_increase * 100),
                      " above the old version's, p99 at most ",
                      absl::StrFormat("%g", g.max_p99_ratio),
                      " times, judged from ", g.min_calls, " calls");
}

CanaryRun* ServingCanary(DriverRecord& r) {
  if (!r.upgrade || !r.upgrade->canary || !r.upgrade->canary->serving) {
    return nullptr;
  }
  return &*r.upgrade->canary;
}

}  // namespace

bool CanarySteps::Serve(const std::string& name, DriverRecord& r,
                        absl::Time now) {
  if (!r.upgrade || !r.upgrade->canary) return false;
  CanaryRun& c = *r.upgrade->canary;
  if (c.percent() >= 100) return false;  // promoted: the cut-over
  if (c.serving) return true;
  c.serving = true;
  r.successor->next_probe = now + context_.options().health_interval;
  const bool resumed = c.resuming;
  c.resuming = false;
  context_.Note(name, r, "upgrade-ready",
                absl::StrCat("version ", Version(r.upgrade->to),
                             resumed ? " answers again" : " is ready"),
                r.successor->pid);
  BeginStep(name, r, now,
            resumed ? "the canary goes on after a restart of pitstopd"
                    : "the new version is ready");
  return true;
}

absl::StatusOr<uint64_t> CanarySteps::Resume(const std::string& name,
                                             DriverRecord& r,
                                             const SavedCanary& saved,
                                             absl::string_view to_version,
                                             absl::Time now) {
  auto v = SemVer::Parse(to_version);
  auto to = v.ok() ? r.installed.find(*v) : r.installed.end();
  if (to == r.installed.end()) {
    return absl::NotFoundError(
        absl::StrCat("version ", to_version, " is no longer installed"));
  }
  if (to->second == r.package) {
    return absl::FailedPreconditionError(
        absl::StrCat("version ", to_version, " is already the active one"));
  }
  RETURN_IF_ERROR(CheckCanaryPlan(saved.plan));
  if (saved.step >= saved.plan.steps.size()) {
    return absl::DataLossError(absl::StrCat("its saved step ", saved.step + 1,
                                            " is past its last (",
                                            saved.plan.steps.size(), ")"));
  }
  if (!context_.options().call_totals) {
    return absl::FailedPreconditionError(
        "this pitstopd does not count calls (count_calls: false), and a "
        "canary's gate compares them");
  }
  UpgradeRun u;
  u.from = r.package;
  u.to = to->second;
  u.options.drain_timeout = saved.drain_timeout > absl::ZeroDuration()
                                ? saved.drain_timeout
                                : u.from->manifest.timeouts.drain;
  u.options.probation = saved.probation > absl::ZeroDuration()
                            ? saved.probation
                            : context_.options().upgrade_probation;
  u.options.canary = saved.plan;
  u.started = now;
  CanaryRun& resumed = u.canary.emplace();
  resumed.plan = saved.plan;
  resumed.step = saved.step;
  resumed.paused = saved.paused;
  resumed.resuming = true;
  r.upgrade = std::move(u);
  const CanaryRun& c = *r.upgrade->canary;
  // The new version's process is taken back, or started again if it did
  // not survive.
  r.graceful_requested = true;
  r.message = absl::StrCat("canary of ", to_version, " at ", Where(c),
                           c.paused ? ", paused" : "",
                           ": waiting for it to answer after a restart of "
                           "pitstopd");
  context_.Changed(name);
  return context_.Note(
      name, r, "canary-step",
      absl::StrCat("the canary of ", to_version, " at ", Where(c),
                   " goes on after a restart of pitstopd; its resources wait "
                   "for ",
                   to_version, " to answer, the rest are served by ",
                   Version(r.package)));
}

void CanarySteps::BeginStep(const std::string& name, DriverRecord& r,
                            absl::Time now, const std::string& why) {
  UpgradeRun& u = *r.upgrade;
  CanaryRun& c = *u.canary;
  const std::string from = Version(u.from);
  const std::string to = Version(u.to);
  c.step_started = now;
  c.gate_due = now + c.plan.interval;
  const auto& totals = context_.options().call_totals;
  c.old_base = totals(name, from);
  c.new_base = totals(name, to);
  // The resources this step moves that still have calls on the old
  // version: their next calls wait until those end.
  c.moving.clear();
  if (r.instance) {
    for (std::string& resource : r.instance->load->BusyResources()) {
      if (InCanary(c.plan, c.percent(), name, resource)) {
        c.moving.push_back(std::move(resource));
      }
    }
    if (!c.moving.empty()) r.instance->load->SetRetiring(true);
  }
  r.message = absl::StrCat("canary of ", to, " at ", Where(c),
                           c.paused ? ", paused" : "");
  r.persist_pending = true;  // a restart goes on from this step
  context_.Note(
      name, r, "canary-step",
      absl::StrCat(
          why, ": ", Percent(c.percent()), " of the resources",
          c.plan.named.empty()
              ? ""
              : absl::StrCat(" and ", c.plan.named.size(), " named"),
          " on ", to, ", the rest on ", from, " (step ", c.step + 1, " of ",
          c.plan.steps.size(), "); ",
          c.paused ? "paused: no next step until resumed; " : "",
          absl::StrCat("the gate is judged at ", ClockTime(c.gate_due),
                       " UTC (", GateText(c.plan.gate), ")"),
          c.moving.empty()
              ? ""
              : absl::StrCat("; ", c.moving.size(),
                             c.moving.size() == 1 ? " resource moves"
                                                  : " resources move",
                             c.moving.size() == 1 ? " once its calls on "
                                                  : " once their calls on ",
                             from, " end")),
      r.successor ? r.successor->pid : 0);
  context_.Changed(name);
}

void CanarySteps::PruneMoving(DriverRecord& r) {
  CanaryRun& c = *r.upgrade->canary;
  if (c.moving.empty() || !r.instance) return;
  const InstanceLoad& load = *r.instance->load;
  c.moving.erase(std::remove_if(c.moving.begin(), c.moving.end(),
                                [&load](const std::string& resource) {
                                  return load.Busy(resource) == 0;
                                }),
                 c.moving.end());
  if (c.moving.empty()) r.instance->load->SetRetiring(false);
}

void CanarySteps::RollBack(const std::string& name, DriverRecord& r,
                           absl::Time now, const std::string& cause,
                           Effects& effects) {
  UpgradeRun& u = *r.upgrade;
  const CanaryRun& c = *u.canary;
  const std::string where = Where(c);
  std::unique_ptr<Instance> failed = std::move(r.successor);
  pid_t pid = 0;
  size_t busy = 0;
  if (failed) {
    pid = failed->pid;
    if (failed->exited()) {
      effects.remove_dirs.push_back(failed->dir);
    } else {
      // It finishes (or is cancelled from) what it has, resource by
      // resource; those resources wait for it, then the old version.
      busy = failed->load->BusyResources().size();
      failed->load->SetRetiring(true);
      failed->drain_deadline = now + u.options.drain_timeout;
      failed->phase = InstancePhase::kDraining;
      failed->rolled_back = true;
      r.retiring = std::move(failed);
    }
  }
  if (r.instance) r.instance->load->SetRetiring(false);
  r.graceful_requested = false;
  r.message =
      absl::StrCat("canary of ", Version(u.to), " rolled back at ", where, ": ",
                   cause, "; ", Version(u.from), " serves every resource again",
                   busy == 0 ? ""
                             : absl::StrCat(" (", busy, " once their calls on ",
                                            Version(u.to), " end)"));
  context_.Note(name, r, "upgrade-rolled-back", r.message, pid);
  r.upgrade.reset();
  r.persist_pending = true;
  context_.table().RecomputeOrder();
  context_.Changed(name);
}

void CanarySteps::JudgeGate(const std::string& name, DriverRecord& r,
                            absl::Time now, Effects& effects) {
  UpgradeRun& u = *r.upgrade;
  CanaryRun& c = *u.canary;
  const auto& totals = context_.options().call_totals;
  const absl::Duration span = now - c.step_started;
  c.old_figures =
      FiguresBetween(&c.old_base, totals(name, Version(u.from)), span);
  c.new_figures =
      FiguresBetween(&c.new_base, totals(name, Version(u.to)), span);
  c.old_figures.driver = c.new_figures.driver = name;
  c.old_figures.version = Version(u.from);
  c.new_figures.version = Version(u.to);
  const GateVerdict v =
      pitstop::JudgeGate(c.plan.gate, c.old_figures, c.new_figures);
  c.verdict = v.text;
  switch (v.outcome) {
    case GateVerdict::Outcome::kFail:
      RollBack(name, r, now, absl::StrCat("its gate failed on ", v.text),
               effects);
      return;
    case GateVerdict::Outcome::kTooFewCalls:
      c.gate_due = now + c.plan.interval;
      context_.Note(name, r, "canary-gate",
                    absl::StrCat("no verdict at ", Where(c), ": ", v.text,
                                 "; judged again at ", ClockTime(c.gate_due),
                                 " UTC (`pitstop upgrade ", name,
                                 " --promote` goes on by hand)"));
      return;
    case GateVerdict::Outcome::kPass:
      break;
  }
  context_.Note(name, r, "canary-gate",
                absl::StrCat("held at ", Where(c), ": ", v.text,
                             c.paused ? "; paused, so the step stays" : ""));
  if (c.paused) {
    // Judged again over the next interval alone.
    c.step_started = now;
    c.old_base = totals(name, Version(u.from));
    c.new_base = totals(name, Version(u.to));
    c.gate_due = now + c.plan.interval;
    return;
  }
  ++c.step;
  r.persist_pending = true;
  if (c.percent() >= 100) {
    c.serving = false;  // the cut-over follows
    context_.Note(
        name, r, "canary-step",
        absl::StrCat("100% of the resources go to ", Version(u.to),
                     ": the cut-over, then ",
                     ShortDuration(u.options.probation), " of probation"));
    context_.Changed(name);
    return;
  }
  BeginStep(name, r, now, "the gate held");
}

bool CanarySteps::Reconcile(const std::string& name, DriverRecord& r,
                            absl::Time now, Effects& effects) {
  CanaryRun* c = ServingCanary(r);
  if (c == nullptr) return false;
  const Instance* s = r.successor.get();
  std::string cause;
  if (s == nullptr || s->exited()) {
    cause = absl::StrCat("the new version ",
                         s == nullptr ? "ended" : s->ExitText());
  } else if (s->health_failures >= context_.options().health_failures) {
    cause = absl::StrCat("the new version failed ", s->health_failures,
                         " probes in a row (", s->probe_message, ")");
  } else if (!r.want_running) {
    cause = "the driver is stopping";
  } else if (!r.upgrade->abort_cause.empty()) {
    cause = absl::StrCat("it ", r.upgrade->abort_cause);
  }
  if (!cause.empty()) {
    RollBack(name, r, now, cause, effects);
    return true;
  }
  PruneMoving(r);
  if (now >= c->gate_due) JudgeGate(name, r, now, effects);
  return !r.upgrade;
}

void CanarySteps::OnProbe(DriverRecord& r, bool ready, absl::Time now) {
  Instance& s = *r.successor;
  s.next_probe = now + context_.options().health_interval;
  s.health_failures = ready ? 0 : s.health_failures + 1;
}

absl::StatusOr<uint64_t> CanarySteps::Promote(const std::string& name,
                                              DriverRecord& r) {
  if (!r.upgrade || !r.upgrade->canary) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " has no canary upgrade in progress to promote"));
  }
  CanaryRun& c = *r.upgrade->canary;
  const std::string from = Where(c);
  c.step = c.plan.steps.size() - 1;
  c.serving = false;
  c.resuming = false;
  r.persist_pending = true;
  context_.Changed(name);
  return context_.Note(
      name, r, "canary-step",
      absl::StrCat("promoted by an operator at ", from,
                   ": 100% of the "
                   "resources go to ",
                   Version(r.upgrade->to), ": the cut-over, then ",
                   ShortDuration(r.upgrade->options.probation),
                   " of probation"));
}

absl::StatusOr<uint64_t> CanarySteps::Pause(const std::string& name,
                                            DriverRecord& r, bool paused) {
  if (!r.upgrade || !r.upgrade->canary) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " has no canary upgrade in progress to ",
                     paused ? "pause" : "resume"));
  }
  CanaryRun& c = *r.upgrade->canary;
  c.paused = paused;
  r.persist_pending = true;
  r.message = absl::StrCat("canary of ", Version(r.upgrade->to), " at ",
                           Where(c), paused ? ", paused" : "");
  return context_.Note(
      name, r, "canary-step",
      paused
          ? absl::StrCat("paused by an operator at ", Where(c),
                         ": no next step until `pitstop upgrade ", name,
                         " --resume`; the gate still rolls back")
          : absl::StrCat("resumed by an operator at ", Where(c),
                         c.serving ? absl::StrCat("; the gate is judged at ",
                                                  ClockTime(c.gate_due), " UTC")
                                   : ""));
}

}  // namespace pitstop
