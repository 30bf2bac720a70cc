#ifndef PITSTOP_SUPERVISOR_CORE_START_ORDER_H_
#define PITSTOP_SUPERVISOR_CORE_START_ORDER_H_

// The order drivers start in: categories are start levels (network, then
// storage, then hypervisor); inside a level, a driver starts after the
// drivers it requires; ties go by name, so the order is deterministic.
// Stopping runs in exact reverse.

#include <map>
#include <string>
#include <vector>

#include "supervisor/car/driver_manifest.h"

namespace pitstop {

struct StartOrder {
  // Resolved drivers, in start order.
  std::vector<std::string> order;
  // Drivers that cannot start, with the reason naming the drivers involved:
  // a missing or incompatible dependency, one in another category, a cycle,
  // or an unresolved dependency.
  std::map<std::string, std::string> unresolved;
};

StartOrder ComputeStartOrder(const std::vector<const DriverManifest*>& drivers);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_START_ORDER_H_
