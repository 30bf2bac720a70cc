#ifndef PITSTOP_SUPERVISOR_RPC_ERROR_DETAILS_H_
#define PITSTOP_SUPERVISOR_RPC_ERROR_DETAILS_H_

// The machine-readable half of the router's own errors, as Google's API
// design guide has it: a `grpc-status-details-bin` trailer holding a
// google.rpc.Status with the same code and message, an ErrorInfo (a stable
// reason, domain "pitstop.dev", the driver) and, for a bad property bag, a
// BadRequest with one field violation per problem. gRPC libraries hand it
// to callers (Java's StatusProto.fromThrowable, Go's status.FromError,
// Python's grpc_status.rpc_status.from_call). Pure.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace pitstop {

inline constexpr char kStatusDetailsHeader[] = "grpc-status-details-bin";

struct ErrorDetails {
  std::string reason;  // "" : the code's name
  std::string driver;  // "" : none
  // (field, description), e.g. ("context.properties.vip", "is required").
  std::vector<std::pair<std::string, std::string>> field_violations;
};

// The header's value: the serialized google.rpc.Status, base64 without
// padding (as gRPC writes binary headers); at most about 2 KiB before
// base64 (the message cut to 512 bytes, a violation's field and
// description to 128, violations dropped past the budget), whatever the
// client sent.
std::string StatusDetailsValue(int code, absl::string_view message,
                               const ErrorDetails& details);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ERROR_DETAILS_H_
