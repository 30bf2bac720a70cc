#ifndef PITSTOP_SDK_STATUS_H_
#define PITSTOP_SDK_STATUS_H_

// Conversion between the absl::Status a driver's logic returns and the
// grpc::Status its service methods return. The canonical codes match one to
// one, so NOT_FOUND stays NOT_FOUND across the wire.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not
// OK.
#define PITSTOP_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::absl::Status pitstop_sdk_status_ = (expr); \
    if (!pitstop_sdk_status_.ok()) {             \
      return pitstop_sdk_status_;                \
    }                                            \
  } while (false)

namespace pitstop::sdk {

grpc::Status ToGrpcStatus(const absl::Status& status);

absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_STATUS_H_
