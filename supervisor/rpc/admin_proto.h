#ifndef PITSTOP_SUPERVISOR_RPC_ADMIN_PROTO_H_
#define PITSTOP_SUPERVISOR_RPC_ADMIN_PROTO_H_

// The admin API's view of the daemon's own types: drivers, their states,
// repositories. Pure; shared by the admin service and the web console's
// JSON API, which is the same view in protobuf's JSON mapping.

#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/time/time.h"
#include "pitstop/supervisor/v1/admin.pb.h"
#include "supervisor/core/driver_status.h"
#include "supervisor/core/event_log.h"
#include "supervisor/repo/repository_set.h"

namespace pitstop {

pitstop::driver::v1::Category ToProto(DriverCategory c);
pitstop::supervisor::v1::DriverState ToProto(DriverState s);
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// One driver, with labels resolved from its message bundles for `locale`
// ("" for the default bundle). Secret defaults show as "***".
pitstop::supervisor::v1::Driver ToProto(const DriverStatus& status,
                                        const std::string& locale);

pitstop::supervisor::v1::Repository ToProto(const RepositoryStatus& r);
pitstop::supervisor::v1::Event ToProto(const DriverEvent& e);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ADMIN_PROTO_H_
