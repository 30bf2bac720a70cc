#include "supervisor/core/driver_status.h"

#include "absl/strings/str_cat.h"
#include "supervisor/core/driver_record.h"

namespace pitstop {
namespace {

const char* ServingRole(DriverState state) {
  switch (state) {
    case DriverState::kStarting:
      return "starting";
    case DriverState::kStopping:
      return "stopping";
    default:
      return "serving";
  }
}

const char* RetiringRole(const DriverRecord& r, const Instance& o) {
  if (o.phase == InstancePhase::kStopping) return "stopping";
  if (o.phase == InstancePhase::kStandby && !r.upgrade) return "pinned";
  if (o.phase == InstancePhase::kStandby && o.load->calls() == 0) {
    return "standby";
  }
  return "draining";
}

}  // namespace

DriverStatus SnapshotOf(const std::string& name, const DriverRecord& r,
                        absl::Time now, const CallTotalsFunction& call_totals) {
  DriverStatus s;
  s.package = r.package;
  s.state = r.state;
  s.state_since = r.state_since;
  s.pid = r.instance && r.instance->alive() ? r.instance->pid : 0;
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
    if (inst == nullptr || inst->exited()) return;
    InstanceStatus i;
    i.id = inst->id;
    i.pid = inst->pid;
    i.version = inst->package->manifest.version.ToString();
    i.role = role;
    i.calls_in_flight = inst->load->calls();
    if (i.pid != 0) i.sandbox = inst->sandbox;
    s.instances.push_back(std::move(i));
  };
  add(r.instance.get(), ServingRole(r.state));
  const bool canary_serving =
      r.upgrade && r.upgrade->canary && r.upgrade->canary->serving;
  add(r.successor.get(), canary_serving ? "canary" : "starting");
  if (const Instance* o = r.retiring.get()) add(o, RetiringRole(r, *o));
  for (const auto& [v, p] : r.installed) {
    s.installed_versions.push_back(v.ToString());
  }
  s.previous_version = r.previous_version;
  if (const Instance* o = r.retiring.get(); o != nullptr && !o->exited()) {
    for (const std::string& resource : o->load->BusyResources()) {
      if (!resource.empty()) ++s.resources_pending;  // "": names none
    }
  }
  s.calls_waiting = r.waiters.size();
  s.pins = r.pins;
  if (r.upgrade) {
    s.upgrade_from = r.upgrade->from->manifest.version.ToString();
    s.upgrade_to = r.upgrade->to->manifest.version.ToString();
    s.upgrade = DescribeUpgrade(*r.upgrade);
  }
  if (r.upgrade && r.upgrade->canary) {
    const CanaryRun& c = *r.upgrade->canary;
    CanaryStatus& cs = s.canary.emplace();
    cs.plan = c.plan;
    cs.step = c.step;
    cs.percent = c.percent();
    cs.serving = c.serving;
    cs.paused = c.paused;
    cs.resuming = c.resuming;
    cs.gate_due = c.serving ? c.gate_due : absl::InfiniteFuture();
    cs.verdict = c.verdict;
    cs.resources_moving = c.moving.size();
    cs.old_figures.version = s.upgrade_from;
    cs.new_figures.version = s.upgrade_to;
    if (c.serving && call_totals) {
      const absl::Duration span = now - c.step_started;
      cs.old_figures =
          FiguresBetween(&c.old_base, call_totals(name, s.upgrade_from), span);
      cs.new_figures =
          FiguresBetween(&c.new_base, call_totals(name, s.upgrade_to), span);
      cs.old_figures.version = s.upgrade_from;
      cs.new_figures.version = s.upgrade_to;
    }
    cs.old_figures.driver = cs.new_figures.driver = name;
  }
  return s;
}

}  // namespace pitstop
