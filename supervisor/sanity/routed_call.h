#ifndef PITSTOP_SUPERVISOR_SANITY_ROUTED_CALL_H_
#define PITSTOP_SUPERVISOR_SANITY_ROUTED_CALL_H_

// Calls of a driver's category service through pitstop-sanity's private
// daemon, built from the compiled-in descriptors: every request's field 1 is
// its CallContext (docs/protocol.md, "The call context"), so a request of
// any method is that field and, for the large-message check, padding in a
// field no request defines.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "pitstop/driver/v1/context.pb.h"
#include "supervisor/car/driver_manifest.h"

namespace pitstop {

class SanityDaemon;

// The methods of `category`'s service, in their .proto order.
std::vector<const google::protobuf::MethodDescriptor*> CategoryMethods(
    DriverCategory category);

struct RoutedAnswer {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  std::string response;  // the serialized response when OK
};

// A unary call of `path` ("/pkg.Service/Method") on `channel` with the
// serialized `request`, waiting at most `timeout`; with the
// `pitstop-driver` metadata when `driver` is not empty.
RoutedAnswer CallRaw(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& path, const std::string& request,
                     absl::Duration timeout, const std::string& driver = "");

// Calls `method` of driver `driver` with `context`, the request's other
// fields `fields` (a serialized request without its context) and
// `pad_bytes` of padding, waiting at most `timeout`.
RoutedAnswer CallRouted(SanityDaemon& daemon, const std::string& driver,
                        const google::protobuf::MethodDescriptor& method,
                        const pitstop::driver::v1::CallContext& context,
                        absl::Duration timeout, const std::string& fields = "",
                        size_t pad_bytes = 0);

// "UNIMPLEMENTED: message".
std::string Describe(const RoutedAnswer& a);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_ROUTED_CALL_H_
