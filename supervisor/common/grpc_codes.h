#ifndef PITSTOP_SUPERVISOR_COMMON_GRPC_CODES_H_
#define PITSTOP_SUPERVISOR_COMMON_GRPC_CODES_H_

// gRPC's status codes by name, for messages and metrics.

#include "absl/strings/string_view.h"

namespace pitstop {

// gRPC's codes, OK (0) to UNAUTHENTICATED (16).
inline constexpr int kGrpcCodeCount = 17;

// "OK", "INVALID_ARGUMENT", ... for 0..16; "" otherwise.
inline absl::string_view GrpcCodeName(int code) {
  static constexpr absl::string_view kNames[kGrpcCodeCount] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < kGrpcCodeCount ? kNames[code] : "";
}

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_GRPC_CODES_H_
