// Supervisor: taking back the processes an earlier pitstopd left running
// (docs/lifecycle.md, "Restarting pitstopd with drivers running"), each into
// the place it had: serving, the new version of a canary, or standing by
// for pinned resources.

#include "absl/strings/str_cat.h"
#include "supervisor/core/canary_steps.h"
#include "supervisor/core/resource_target.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {
namespace {

std::string VersionOf(const DriverRecord& r) {
  return r.package->manifest.version.ToString();
}

}  // namespace

Supervisor::AdoptDecision Supervisor::DecideAdoptionLocked(const Survivor& s) {
  const DriverRecord* r = table_.Find(s.driver);
  if (r == nullptr)
    return {AdoptSlot::kNone, "the driver is no longer installed"};
  if (!r->enabled) return {AdoptSlot::kNone, "an operator stopped the driver"};
  if (r->state == DriverState::kFailed) {
    return {AdoptSlot::kNone, "the driver is FAILED"};
  }
  if (!r->unresolved.empty()) return {AdoptSlot::kNone, r->unresolved};
  const std::string active = VersionOf(*r);
  const char* const second = "another instance of the driver was taken back";
  if (s.version == active) {
    if (r->instance) return {AdoptSlot::kNone, second};
    return {AdoptSlot::kServing, ""};
  }
  auto canary = resumable_canaries_.find(s.driver);
  if (canary != resumable_canaries_.end() &&
      canary->second.upgrading_to == s.version) {
    if (r->successor) return {AdoptSlot::kNone, second};
    if (!r->instance) {
      return {AdoptSlot::kNone,
              absl::StrCat("the new version of a canary, whose old version ",
                           active, " did not survive the restart")};
    }
    return {AdoptSlot::kCanary, ""};
  }
  if (PinnedVersion(*r, s.version)) {
    if (r->retiring) return {AdoptSlot::kNone, second};
    return {AdoptSlot::kPinned, ""};
  }
  return {AdoptSlot::kNone,
          absl::StrCat("version ", s.version, " is not the active one (",
                       active, ")")};
}

bool Supervisor::PlaceSurvivorLocked(const Survivor& s, AdoptSlot slot,
                                     DriverRecord& r, std::string& why) {
  const absl::Time now = clock_.Now();
  switch (slot) {
    case AdoptSlot::kNone:
      return false;
    case AdoptSlot::kServing:
      r.instance = context_.AdoptedInstance(s.driver, r.package, s.instance_id,
                                            s.pid, now);
      r.instance->sandbox = s.sandbox;
      r.want_running = true;
      r.message.clear();
      SetStateLocked(s.driver, r, DriverState::kStarting);
      return true;
    case AdoptSlot::kCanary: {
      const DesiredDriverState saved = resumable_canaries_[s.driver];
      resumable_canaries_.erase(s.driver);
      if (!ResumeCanaryLocked(s.driver, r, saved, why)) return false;
      // STARTING until its probe answers; then the canary serves again.
      r.successor = context_.AdoptedInstance(s.driver, r.upgrade->to,
                                             s.instance_id, s.pid, now);
      r.successor->sandbox = s.sandbox;
      return true;
    }
    case AdoptSlot::kPinned: {
      auto v = SemVer::Parse(s.version);
      auto package = v.ok() ? r.installed.find(*v) : r.installed.end();
      if (package == r.installed.end()) {
        why = absl::StrCat("version ", s.version, " is no longer installed");
        return false;
      }
      // As after the upgrade that left it: standing by, its calls never cut
      // at a drain timeout, until unpinned.
      r.retiring = context_.AdoptedInstance(s.driver, package->second,
                                            s.instance_id, s.pid, now);
      r.retiring->sandbox = s.sandbox;
      r.retiring->phase = InstancePhase::kStandby;
      r.retiring->drain_deadline = absl::InfiniteFuture();
      return true;
    }
  }
  return false;
}

bool Supervisor::ResumeCanaryLocked(const std::string& name, DriverRecord& r,
                                    const DesiredDriverState& saved,
                                    std::string& why) {
  TouchLocked(name);
  if (r.instance == nullptr) {
    why = absl::StrCat("the process of ", VersionOf(r),
                       " did not survive the restart");
  } else if (absl::StatusOr<uint64_t> resumed = machine_.canaries().Resume(
                 name, r, *saved.canary, saved.upgrading_to, clock_.Now());
             resumed.ok()) {
    return true;
  } else {
    why = std::string(resumed.status().message());
  }
  context_.Note(name, r, "upgrade-rolled-back",
                InterruptedByRestart(saved.upgrading_to, VersionOf(r), why));
  r.persist_pending = true;
  return false;
}

void Supervisor::SettleResumableCanariesLocked() {
  for (auto& [name, saved] : resumable_canaries_) {
    // Its new version's process did not survive: it starts again.
    std::string why;
    if (DriverRecord* r = table_.Find(name)) {
      ResumeCanaryLocked(name, *r, saved, why);
    }
  }
  resumable_canaries_.clear();
}

std::vector<Supervisor::Adopted> Supervisor::AdoptSurvivors() {
  std::vector<Survivor> survivors = runner_.FindSurvivors();
  {
    // The active version's first: a canary's new version or a pinned one
    // is taken back only beside it.
    std::vector<bool> active(survivors.size());
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < survivors.size(); ++i) {
      const DriverRecord* r = table_.Find(survivors[i].driver);
      active[i] = r != nullptr && VersionOf(*r) == survivors[i].version;
    }
    std::vector<Survivor> ordered;
    ordered.reserve(survivors.size());
    for (bool first : {true, false}) {
      for (size_t i = 0; i < survivors.size(); ++i) {
        if (active[i] == first) ordered.push_back(std::move(survivors[i]));
      }
    }
    survivors = std::move(ordered);
  }
  std::vector<Adopted> adopted;
  for (const Survivor& s : survivors) {
    std::string why;
    std::string socket;
    std::string role;
    {
      absl::MutexLock lock(&mu_);
      DriverRecord* r = table_.Find(s.driver);
      AdoptDecision d = DecideAdoptionLocked(s);
      why = d.why;
      // In the record before it is adopted: an exit reported at once (a
      // driver that exited while no daemon ran) must find it.
      if (r != nullptr && PlaceSurvivorLocked(s, d.slot, *r, why)) {
        Instance* inst = r->FindInstance(s.instance_id);
        socket = inst->socket_path;
        role = d.slot == AdoptSlot::kCanary ? ", the new version of its canary"
               : d.slot == AdoptSlot::kPinned ? ", for its pinned resources"
                                              : "";
        TouchLocked(s.driver);
      } else if (why.empty()) {
        why = "it has no place in the driver any more";
      }
      if (r != nullptr) {
        context_.Note(
            s.driver, *r, "process",
            socket.empty()
                ? absl::StrCat("stopped pid ", s.pid, " (version ", s.version,
                               ") left by an earlier pitstopd: ", why)
                : absl::StrCat("re-adopted pid ", s.pid, " (version ",
                               s.version, role, ") from an earlier pitstopd",
                               s.exited ? "; it exited meanwhile" : ""),
            s.pid);
      }
    }
    if (socket.empty()) {
      runner_.StopSurvivor(s.pid);
      continue;
    }
    std::shared_ptr<DriverEndpoint> endpoint =
        runner_.Adopt(s.driver, s.instance_id, s.pid, socket);
    absl::MutexLock lock(&mu_);
    if (DriverRecord* r = table_.Find(s.driver); r != nullptr) {
      if (Instance* inst = r->FindInstance(s.instance_id)) {
        inst->endpoint = std::move(endpoint);
      }
    }
    adopted.push_back({s.driver, s.instance_id, s.pid});
  }
  absl::MutexLock lock(&mu_);
  SettleResumableCanariesLocked();
  return adopted;
}

}  // namespace pitstop
