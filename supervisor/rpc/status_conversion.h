#ifndef PITSTOP_SUPERVISOR_RPC_STATUS_CONVERSION_H_
#define PITSTOP_SUPERVISOR_RPC_STATUS_CONVERSION_H_

// The one place where absl::Status and grpc::Status meet. The codes are the
// same numbers; messages pass through unchanged.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace pitstop {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_STATUS_CONVERSION_H_
