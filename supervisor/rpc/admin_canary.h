#ifndef PITSTOP_SUPERVISOR_RPC_ADMIN_CANARY_H_
#define PITSTOP_SUPERVISOR_RPC_ADMIN_CANARY_H_

// The admin API's view of canary upgrades: the plan a client sends, and the
// canary a driver shows (pure). admin_canary.cc also holds AdminService's
// ControlCanary and WhereResource.

#include "absl/status/statusor.h"
#include "pitstop/supervisor/v1/admin.pb.h"
#include "supervisor/core/canary_plan.h"
#include "supervisor/core/driver_status.h"

namespace pitstop {

// The plan in `p`, defaults filled in and checked (CheckCanaryPlan):
// INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<CanaryPlan> CanaryPlanFromProto(
    const pitstop::supervisor::v1::CanaryPlan& p);

pitstop::supervisor::v1::CanaryPlan ToProto(const CanaryPlan& plan);
pitstop::supervisor::v1::Canary ToProto(const CanaryStatus& c,
                                        const std::string& from,
                                        const std::string& to);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ADMIN_CANARY_H_
