#ifndef PITSTOP_SUPERVISOR_CORE_RESOURCE_TARGET_H_
#define PITSTOP_SUPERVISOR_CORE_RESOURCE_TARGET_H_

// Which process of a driver a resource's calls go to now, and why:
//
//   pinned   `pitstop pin`: the process running the pinned version, while
//            one serves (a pin to a version that runs nowhere falls through)
//   named    named to a canary (CanaryPlan::named)
//   canary   in a serving canary's share (or in the share of a canary
//            taken back after a restart of pitstopd: it waits for the new
//            version to answer, and the instance returned may be null)
//   default  the serving instance, running the active version
//
// Whatever the target, a resource with calls still running on another
// process waits for them (route_waiters.cc). Pure; under the Supervisor's
// lock.

#include <string>

#include "absl/strings/string_view.h"

namespace pitstop {

struct DriverRecord;
struct Instance;

// The instance that serves `resource` ("type/id", or "" for a call naming
// none) of `name` now, or null when none does; `why` (optional) gets the
// reason above. `pinned_to` (optional) gets the pinned version, also when
// no process runs it.
const Instance* ResourceTarget(const std::string& name, const DriverRecord& r,
                               absl::string_view resource,
                               std::string* why = nullptr,
                               std::string* pinned_to = nullptr);

// Whether a pin of `r` keeps `version` running.
bool PinnedVersion(const DriverRecord& r, absl::string_view version);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_RESOURCE_TARGET_H_
