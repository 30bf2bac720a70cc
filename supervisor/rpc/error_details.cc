#include "supervisor/rpc/error_details.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "supervisor/common/grpc_codes.h"

namespace pitstop {

namespace {

// The trailer stays well inside the 8 KiB of metadata gRPC clients take by
// default (gRPC Java's limit), beside grpc-message: the details are for
// programs; the whole message is in grpc-message.
constexpr size_t kMaxDetailsBytes = 2048;
constexpr size_t kMaxText = 128;  // a violation's field or description
constexpr size_t kMaxMessage = 512;

std::string Cut(absl::string_view text, size_t max) {
  return std::string(text.substr(0, max));
}

}  // namespace

std::string StatusDetailsValue(int code, absl::string_view message,
                               const ErrorDetails& details) {
  google::rpc::Status status;
  status.set_code(code);
  status.set_message(Cut(message, kMaxMessage));
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
    size_t budget =
        kMaxDetailsBytes - std::min(kMaxDetailsBytes, status.ByteSizeLong());
    for (const auto& [field, description] : details.field_violations) {
      google::rpc::BadRequest::FieldViolation v;
      v.set_field(Cut(field, kMaxText));
      v.set_description(Cut(description, kMaxText));
      const size_t size = v.ByteSizeLong() + 8;  // with its tag and length
      if (size > budget) break;
      budget -= size;
      *bad.add_field_violations() = std::move(v);
    }
    status.add_details()->PackFrom(bad);
  }
  std::string encoded = absl::Base64Escape(status.SerializeAsString());
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return encoded;
}

}  // namespace pitstop
