#ifndef PITSTOP_SUPERVISOR_CORE_OPERATOR_ACTIONS_H_
#define PITSTOP_SUPERVISOR_CORE_OPERATOR_ACTIONS_H_

// What an operator's start, stop, restart and reset do to a driver's record
// (the Supervisor's public API holds the lock and wakes the control loop,
// which carries them out). Each records an "operator" event.
//
// Not thread-safe: called under the Supervisor's lock. No I/O.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/machine_context.h"

namespace pitstop {

// FAILED_PRECONDITION when it is running already or can never start.
// `by`: who asked, as the event says it ("uid=0 gid=0 pid=4242"); "" when
// unknown.
// The reason of an "operator" event: "stop requested", "upgrade to 2.0.0
// requested by uid=1000 gid=1000 pid=4242" (`by`: the router's word on the
// caller, "" when unknown).
std::string Requested(absl::string_view what, absl::string_view by);

absl::Status StartDriver(MachineContext& context, const std::string& name,
                         DriverRecord& r, absl::Time now,
                         absl::string_view by = "");
absl::Status StopDriver(MachineContext& context, const std::string& name,
                        DriverRecord& r, absl::Time now,
                        absl::string_view by = "");
// Graceful for a READY driver unless `force` (see Supervisor::Restart).
// FAILED_PRECONDITION during an upgrade or when it can never start.
absl::Status RestartDriver(MachineContext& context, const std::string& name,
                           DriverRecord& r, absl::Time now, bool force,
                           absl::string_view by = "");
// FAILED_PRECONDITION when it is not FAILED.
absl::Status ResetDriver(MachineContext& context, const std::string& name,
                         DriverRecord& r, absl::Time now,
                         absl::string_view by = "");

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_OPERATOR_ACTIONS_H_
