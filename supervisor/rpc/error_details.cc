#include "supervisor/rpc/error_details.h"

#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "supervisor/common/grpc_codes.h"

namespace pitstop {

std::string StatusDetailsValue(int code, absl::string_view message,
                               const ErrorDetails& details) {
  google::rpc::Status status;
  status.set_code(code);
  status.set_message(std::string(message));
  google::rpc::ErrorInfo info;
  info.set_reason(details.reason.empty() ? std::string(GrpcCodeName(code))
                                         : details.reason);
  info.set_domain("pitstop.dev");
  if (!details.driver.empty()) {
    (*info.mutable_metadata())["driver"] = details.driver;
  }
  status.add_details()->PackFrom(info);
  if (!details.field_violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& [field, description] : details.field_violations) {
      auto* v = bad.add_field_violations();
      v->set_field(field);
      v->set_description(description);
    }
    status.add_details()->PackFrom(bad);
  }
  std::string encoded = absl::Base64Escape(status.SerializeAsString());
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return encoded;
}

}  // namespace pitstop
