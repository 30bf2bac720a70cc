#ifndef PITSTOP_SUPERVISOR_CORE_ROUTE_H_
#define PITSTOP_SUPERVISOR_CORE_ROUTE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/instance_load.h"

namespace pitstop {

// Where to send one call: a READY instance.
struct Route {
  std::string driver;
  uint64_t instance_id = 0;
  pid_t pid = 0;
  std::shared_ptr<const DriverPackage> package;
  std::shared_ptr<DriverEndpoint> endpoint;
  // Counts the call as in flight on the instance (and its resource) until
  // released: an instance being replaced drains before it is stopped, and
  // the resource is not routed to the other instance meanwhile.
  std::shared_ptr<CallLease> lease;
};

using RouteCallback = std::function<void(absl::StatusOr<Route>)>;

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_ROUTE_H_
