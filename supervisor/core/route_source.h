#ifndef PITSTOP_SUPERVISOR_CORE_ROUTE_SOURCE_H_
#define PITSTOP_SUPERVISOR_CORE_ROUTE_SOURCE_H_

// What the router needs of core: a READY instance for one call. The
// Supervisor implements RouteSource; the router's tests use a fake.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/instance_load.h"

namespace pitstop {

// Where to send one call: a READY instance.
struct Route {
  std::string driver;
  uint64_t instance_id = 0;
  pid_t pid = 0;
  // The Unix socket the instance serves on.
  std::string socket_path;
  std::shared_ptr<const DriverPackage> package;
  std::shared_ptr<DriverEndpoint> endpoint;
  // Counts the call as in flight on the instance (and its resource) until
  // released: an instance being replaced drains before it is stopped, and
  // the resource is not routed to the other instance meanwhile.
  std::shared_ptr<CallLease> lease;
};

// One call asking for a route.
struct RouteRequest {
  std::string driver;
  // "type/id", or "" for a call that names none.
  std::string resource;
  // The resource type the call names ("" for none).
  std::string resource_type;
  // The category whose service the call is for.
  DriverCategory category = DriverCategory::kStorage;
  absl::Time deadline = absl::InfiniteFuture();
  // When set, that instance is skipped for a while (it just refused a
  // connection).
  uint64_t avoid_instance = 0;
};

using RouteCallback = std::function<void(absl::StatusOr<Route>)>;

class RouteSource {
 public:
  using RouteCallback = pitstop::RouteCallback;

  virtual ~RouteSource() = default;
  // Calls `done` exactly once, with a READY instance or why there is none,
  // on the caller's thread or another one, never under a lock of the
  // source's. Never blocks.
  virtual void AcquireRoute(RouteRequest request, RouteCallback done) = 0;
};

// "pitstop.driver.v1.StorageService" for storage, and so on.
absl::string_view CategoryServiceName(DriverCategory category);

// Whether a call for `category`'s service naming `resource_type` ("" for
// none) fits the driver `m` declares: FAILED_PRECONDITION when the driver is
// of another category, INVALID_ARGUMENT when it declares resource types and
// not this one. The message names `driver` and what to call instead. Pure.
absl::Status CheckCallFits(const DriverManifest& m, absl::string_view driver,
                           DriverCategory category,
                           absl::string_view resource_type);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_ROUTE_SOURCE_H_
