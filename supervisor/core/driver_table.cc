#include "supervisor/core/driver_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/error_reason.h"
#include "supervisor/common/quoted.h"
#include "supervisor/core/start_order.h"

namespace pitstop {

DriverRecord* DriverTable::Find(absl::string_view name) {
  auto it = records_.find(name);
  return it == records_.end() ? nullptr : &it->second;
}

const DriverRecord* DriverTable::Find(absl::string_view name) const {
  auto it = records_.find(name);
  return it == records_.end() ? nullptr : &it->second;
}

absl::Status DriverTable::UnknownDriver(absl::string_view name) const {
  std::vector<std::string> known;
  for (const auto& [n, r] : records_) known.push_back(n);
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          "no driver named ", Quoted(name), " is installed (installed: ",
          known.empty() ? "none" : absl::StrJoin(known, ", "),
          "); list them with `pitstop drivers`")),
      "DRIVER_NOT_FOUND");
}

DriverRecord& DriverTable::Add(const std::string& name) {
  return records_[name];
}

void DriverTable::Erase(absl::string_view name) {
  auto it = records_.find(name);
  if (it != records_.end()) records_.erase(it);
}

void DriverTable::RecomputeOrder() {
  std::vector<const DriverManifest*> manifests;
  for (auto& [n, rec] : records_) manifests.push_back(&rec.package->manifest);
  StartOrder order = ComputeStartOrder(manifests);
  order_changed_ = true;
  order_ = order.order;
  for (auto& [n, rec] : records_) {
    auto it = order.unresolved.find(n);
    rec.unresolved = it == order.unresolved.end() ? "" : it->second;
    if (it != order.unresolved.end()) order_.push_back(n);
    if (rec.unresolved.empty()) {
      rec.unresolved = MissingPermission(*rec.package, sandbox_);
    }
  }
}

std::vector<OrderEntry> DriverTable::StartOrderDetails() const {
  static constexpr const char* kLevels[] = {"network", "storage", "hypervisor"};
  std::vector<OrderEntry> out;
  for (const std::string& name : order_) {
    const DriverRecord& r = *Find(name);
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

bool DriverTable::DependenciesReady(const DriverRecord& r,
                                    std::string* waiting_for) const {
  for (const DriverRequirement& req : r.package->manifest.requires_) {
    const DriverRecord* dep = Find(req.name);
    if (dep == nullptr || dep->state != DriverState::kReady) {
      *waiting_for = req.name;
      return false;
    }
  }
  return true;
}

std::vector<std::string> DriverTable::Dependents(absl::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [other, rec] : records_) {
    if (other == name) continue;
    for (const DriverRequirement& req : rec.package->manifest.requires_) {
      if (req.name == name) {
        out.push_back(other);
        break;
      }
    }
  }
  return out;
}

std::string DriverTable::UpgradeBlocker(const std::string& name,
                                        const DriverPackage& to) const {
  const DriverManifest& m = to.manifest;
  const DriverRecord& r = *Find(name);
  const std::string v = m.version.ToString();
  if (m.category != r.package->manifest.category) {
    return absl::StrCat(name, " ", v, " is a ", CategoryName(m.category),
                        " driver, but ", r.package->manifest.version.ToString(),
                        " is a ", CategoryName(r.package->manifest.category),
                        " driver: a driver keeps its category across versions");
  }
  for (const DriverRequirement& req : m.requires_) {
    const DriverRecord* dep = Find(req.name);
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
  for (const auto& [other, rec] : records_) {
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

}  // namespace pitstop
