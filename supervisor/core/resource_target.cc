#include "supervisor/core/resource_target.h"

#include "supervisor/core/canary_plan.h"
#include "supervisor/core/driver_record.h"

namespace pitstop {
namespace {

std::string VersionOf(const Instance& inst) {
  return inst.package->manifest.version.ToString();
}

// The process of `version` that may take calls: the serving instance when
// READY, a successor serving a canary, a replaced one kept in standby.
const Instance* ServingVersion(const DriverRecord& r,
                               absl::string_view version) {
  const Instance* inst = r.instance.get();
  if (inst != nullptr && inst->alive() && r.state == DriverState::kReady &&
      VersionOf(*inst) == version) {
    return inst;
  }
  const Instance* s = r.successor.get();
  if (s != nullptr && s->alive() && s->phase == InstancePhase::kReady &&
      r.upgrade && r.upgrade->canary && r.upgrade->canary->serving &&
      VersionOf(*s) == version) {
    return s;
  }
  const Instance* o = r.retiring.get();
  if (o != nullptr && o->alive() && o->phase == InstancePhase::kStandby &&
      !o->rolled_back && VersionOf(*o) == version) {
    return o;
  }
  return nullptr;
}

}  // namespace

bool PinnedVersion(const DriverRecord& r, absl::string_view version) {
  for (const auto& [resource, v] : r.pins) {
    if (v == version) return true;
  }
  return false;
}

const Instance* ResourceTarget(const std::string& name, const DriverRecord& r,
                               absl::string_view resource, std::string* why,
                               std::string* pinned_to) {
  auto say = [why](const char* reason) {
    if (why != nullptr) *why = reason;
  };
  if (!resource.empty() && !r.pins.empty()) {
    auto pin = r.pins.find(std::string(resource));
    if (pin != r.pins.end()) {
      if (pinned_to != nullptr) *pinned_to = pin->second;
      if (const Instance* inst = ServingVersion(r, pin->second)) {
        say("pinned");
        return inst;
      }
    }
  }
  const Instance* s = r.successor.get();
  const CanaryRun* canary =
      r.upgrade && r.upgrade->canary ? &*r.upgrade->canary : nullptr;
  // A canary taken back after a restart of pitstopd keeps its resources on
  // the new version: they wait for it to answer again (s may be null, or
  // starting, meanwhile) rather than visit the old one.
  if (!resource.empty() && canary != nullptr &&
      (canary->resuming || (canary->serving && s != nullptr && s->alive() &&
                            s->phase == InstancePhase::kReady))) {
    const CanaryRun& c = *canary;
    if (c.plan.named.count(std::string(resource)) > 0) {
      say("named");
      return s;
    }
    if (InCanary(c.plan, c.percent(), name, resource)) {
      say("canary");
      return s;
    }
  }
  say("default");
  return r.instance.get();
}

}  // namespace pitstop
