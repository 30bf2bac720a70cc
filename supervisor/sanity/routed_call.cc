#include "supervisor/sanity/routed_call.h"

#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/common/grpc_codes.h"
#include "supervisor/sanity/sanity_daemon.h"

namespace pitstop {
namespace {

namespace dv1 = pitstop::driver::v1;

// A field number no request defines: its bytes are unknown to the driver's
// parser, which keeps or skips them.
constexpr uint32_t kPaddingField = 100000;

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void AppendBytesField(std::string& out, uint32_t field,
                      const std::string& bytes) {
  AppendVarint(out, (uint64_t{field} << 3) | 2);
  AppendVarint(out, bytes.size());
  out += bytes;
}

}  // namespace

std::vector<const google::protobuf::MethodDescriptor*> CategoryMethods(
    DriverCategory category) {
  // Through a message of each file, so that its descriptors are linked in.
  const google::protobuf::ServiceDescriptor* service = nullptr;
  switch (category) {
    case DriverCategory::kStorage:
      service =
          dv1::CreateVolumeRequest::descriptor()->file()->FindServiceByName(
              "StorageService");
      break;
    case DriverCategory::kNetwork:
      service =
          dv1::ImplementNetworkRequest::descriptor()->file()->FindServiceByName(
              "NetworkService");
      break;
    case DriverCategory::kHypervisor:
      service = dv1::StartVmRequest::descriptor()->file()->FindServiceByName(
          "HypervisorService");
      break;
  }
  std::vector<const google::protobuf::MethodDescriptor*> out;
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    out.push_back(service->method(i));
  }
  return out;
}

RoutedAnswer CallRouted(SanityDaemon& daemon, const std::string& driver,
                        const google::protobuf::MethodDescriptor& method,
                        const dv1::CallContext& context, absl::Duration timeout,
                        const std::string& fields, size_t pad_bytes) {
  std::string request;
  AppendBytesField(request, 1, context.SerializeAsString());
  request += fields;
  if (pad_bytes > 0) {
    AppendBytesField(request, kPaddingField, std::string(pad_bytes, 'p'));
  }
  return CallRaw(
      daemon.channel(),
      absl::StrCat("/", method.service()->full_name(), "/", method.name()),
      request, timeout, driver);
}

RoutedAnswer CallRaw(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& path, const std::string& request,
                     absl::Duration timeout, const std::string& driver) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!driver.empty()) ctx.AddMetadata("pitstop-driver", driver);
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::GenericStub stub(channel);
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, path, grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  RoutedAnswer answer;
  answer.code = status.error_code();
  answer.message = status.error_message();
  std::vector<grpc::Slice> slices;
  if (status.ok() && out.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      answer.response.append(reinterpret_cast<const char*>(s.begin()),
                             s.size());
    }
  }
  return answer;
}

std::string Describe(const RoutedAnswer& a) {
  if (a.code == grpc::StatusCode::OK) return "OK";
  return absl::StrCat(GrpcCodeName(a.code), a.message.empty() ? "" : ": ",
                      a.message.substr(0, 200));
}

}  // namespace pitstop
