#include "supervisor/core/start_order.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pitstop {
namespace {

using ByName = std::map<std::string, const DriverManifest*>;

// Why `m` cannot use the driver `req` names, if it cannot.
std::optional<std::string> RequirementProblem(const DriverManifest& m,
                                              const DriverRequirement& req,
                                              const ByName& by_name) {
  auto it = by_name.find(req.name);
  if (it == by_name.end()) {
    return absl::StrCat("requires driver '", req.name, "' (",
                        req.versions.text(), "), which is not installed");
  }
  const DriverManifest& dep = *it->second;
  if (dep.category != m.category) {
    return absl::StrCat("requires '", req.name, "', a ",
                        CategoryName(dep.category),
                        " driver; requirements must be in the same category (",
                        CategoryName(m.category), ")");
  }
  if (!req.versions.Contains(dep.version)) {
    return absl::StrCat("requires '", req.name, "' ", req.versions.text(),
                        ", but version ", dep.version.ToString(),
                        " is installed");
  }
  return std::nullopt;
}

// A driver's last problematic requirement names its reason.
void MarkRequirementProblems(const ByName& by_name, StartOrder& result) {
  for (const auto& [name, m] : by_name) {
    for (const DriverRequirement& req : m->requires_) {
      if (auto problem = RequirementProblem(*m, req, by_name)) {
        result.unresolved[name] = *std::move(problem);
      }
    }
  }
}

// The requirement edges between installed drivers, consumed as drivers are
// placed.
struct DependencyGraph {
  std::map<std::string, std::set<std::string>> waiting_on;  // name -> deps
  std::map<std::string, std::vector<std::string>> dependents;
};

DependencyGraph BuildGraph(const ByName& by_name) {
  DependencyGraph graph;
  for (const auto& [name, m] : by_name) {
    graph.waiting_on[name];
    for (const DriverRequirement& req : m->requires_) {
      if (by_name.count(req.name) == 0) continue;
      graph.waiting_on[name].insert(req.name);
      graph.dependents[req.name].push_back(name);
    }
  }
  return graph;
}

// Kahn's algorithm over one start level, always taking the smallest ready
// name. Appends to `order`; returns the level's drivers left unplaced.
std::vector<std::string> PlaceLevel(int level, const ByName& by_name,
                                    DependencyGraph& graph,
                                    std::vector<std::string>& order) {
  std::set<std::string> ready;
  std::set<std::string> in_level;
  for (const auto& [name, m] : by_name) {
    if (StartLevel(m->category) != level) continue;
    in_level.insert(name);
    if (graph.waiting_on[name].empty()) ready.insert(name);
  }
  std::set<std::string> placed;
  while (!ready.empty()) {
    std::string next = *ready.begin();
    ready.erase(ready.begin());
    placed.insert(next);
    order.push_back(next);
    for (const std::string& d : graph.dependents[next]) {
      graph.waiting_on[d].erase(next);
      if (graph.waiting_on[d].empty() && in_level.count(d) &&
          !placed.count(d)) {
        ready.insert(d);
      }
    }
  }
  std::vector<std::string> unplaced;
  for (const std::string& name : in_level) {
    if (!placed.count(name)) unplaced.push_back(name);
  }
  return unplaced;
}

// Drivers left unplaced wait on each other; an earlier reason is kept.
void MarkCycle(const std::vector<std::string>& cycle, StartOrder& result) {
  for (const std::string& name : cycle) {
    if (!result.unresolved.count(name)) {
      result.unresolved[name] = absl::StrCat("dependency cycle among drivers ",
                                             absl::StrJoin(cycle, ", "));
    }
  }
}

// The first of `m`'s requirements that cannot start, if any.
const DriverRequirement* FirstUnresolvedRequirement(const DriverManifest& m,
                                                    const StartOrder& result) {
  for (const DriverRequirement& req : m.requires_) {
    if (result.unresolved.count(req.name)) return &req;
  }
  return nullptr;
}

// A driver whose dependency cannot start cannot start either. Passes run in
// name order, each seeing the drivers marked earlier in it, until one marks
// nothing.
void PropagateUnresolved(const ByName& by_name, StartOrder& result) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& [name, m] : by_name) {
      if (result.unresolved.count(name)) continue;
      if (const DriverRequirement* req =
              FirstUnresolvedRequirement(*m, result)) {
        result.unresolved[name] =
            absl::StrCat("requires '", req->name, "', which cannot start");
        changed = true;
      }
    }
  }
}

void DropUnresolved(StartOrder& result) {
  result.order.erase(std::remove_if(result.order.begin(), result.order.end(),
                                    [&](const std::string& n) {
                                      return result.unresolved.count(n) > 0;
                                    }),
                     result.order.end());
}

}  // namespace

StartOrder ComputeStartOrder(
    const std::vector<const DriverManifest*>& drivers) {
  StartOrder result;
  ByName by_name;
  for (const DriverManifest* m : drivers) by_name[m->name] = m;

  MarkRequirementProblems(by_name, result);
  DependencyGraph graph = BuildGraph(by_name);
  for (int level = 0; level < 3; ++level) {
    MarkCycle(PlaceLevel(level, by_name, graph, result.order), result);
  }
  PropagateUnresolved(by_name, result);
  DropUnresolved(result);
  return result;
}

}  // namespace pitstop
