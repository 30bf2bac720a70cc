#include "supervisor/core/start_order.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pitstop {

StartOrder ComputeStartOrder(
    const std::vector<const DriverManifest*>& drivers) {
  StartOrder result;
  std::map<std::string, const DriverManifest*> by_name;
  for (const DriverManifest* m : drivers) by_name[m->name] = m;

  // Direct problems with each requirement.
  for (const auto& [name, m] : by_name) {
    for (const DriverRequirement& req : m->requires_) {
      auto it = by_name.find(req.name);
      if (it == by_name.end()) {
        result.unresolved[name] =
            absl::StrCat("requires driver '", req.name, "' (",
                         req.versions.text(), "), which is not installed");
      } else if (it->second->category != m->category) {
        result.unresolved[name] = absl::StrCat(
            "requires '", req.name, "', a ", CategoryName(it->second->category),
            " driver; requirements must be in the same category (",
            CategoryName(m->category), ")");
      } else if (!req.versions.Contains(it->second->version)) {
        result.unresolved[name] = absl::StrCat(
            "requires '", req.name, "' ", req.versions.text(), ", but version ",
            it->second->version.ToString(), " is installed");
      }
    }
  }

  // Kahn's algorithm per level, always taking the smallest ready name.
  std::map<std::string, std::set<std::string>> waiting_on;  // name -> deps
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [name, m] : by_name) {
    waiting_on[name];
    for (const DriverRequirement& req : m->requires_) {
      if (by_name.count(req.name) == 0) continue;
      waiting_on[name].insert(req.name);
      dependents[req.name].push_back(name);
    }
  }
  for (int level = 0; level < 3; ++level) {
    std::set<std::string> ready;
    std::set<std::string> in_level;
    for (const auto& [name, m] : by_name) {
      if (StartLevel(m->category) != level) continue;
      in_level.insert(name);
      if (waiting_on[name].empty()) ready.insert(name);
    }
    std::set<std::string> placed;
    while (!ready.empty()) {
      std::string next = *ready.begin();
      ready.erase(ready.begin());
      placed.insert(next);
      result.order.push_back(next);
      for (const std::string& d : dependents[next]) {
        waiting_on[d].erase(next);
        if (waiting_on[d].empty() && in_level.count(d) && !placed.count(d)) {
          ready.insert(d);
        }
      }
    }
    std::vector<std::string> cycle;
    for (const std::string& name : in_level) {
      if (!placed.count(name)) cycle.push_back(name);
    }
    for (const std::string& name : cycle) {
      if (!result.unresolved.count(name)) {
        result.unresolved[name] = absl::StrCat(
            "dependency cycle among drivers ", absl::StrJoin(cycle, ", "));
      }
    }
  }

  // A driver whose dependency cannot start cannot start either.
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& [name, m] : by_name) {
      if (result.unresolved.count(name)) continue;
      for (const DriverRequirement& req : m->requires_) {
        if (result.unresolved.count(req.name)) {
          result.unresolved[name] =
              absl::StrCat("requires '", req.name, "', which cannot start");
          changed = true;
          break;
        }
      }
    }
  }
  result.order.erase(std::remove_if(result.order.begin(), result.order.end(),
                                    [&](const std::string& n) {
                                      return result.unresolved.count(n) > 0;
                                    }),
                     result.order.end());
  return result;
}

}  // namespace pitstop
