#include "fault_service.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "pitstop/sdk/log.h"
#include "pitstop/sdk/properties.h"
#include "pitstop/sdk/status.h"

namespace pitstop::fault {
namespace {

namespace v1 = ::pitstop::driver::v1;

constexpr uint64_t kTiB = uint64_t{1} << 40;

}  // namespace

void BlockForever() {
  while (true) absl::SleepFor(absl::Hours(1));
}

void FaultStorageService::MaybeHang() const {
  if (hang_) BlockForever();
}

grpc::Status FaultStorageService::GetCapabilities(
    grpc::ServerContext* context, const v1::GetStorageCapabilitiesRequest*,
    v1::GetStorageCapabilitiesResponse* response) {
  MaybeHang();
  (*response->mutable_capabilities())["FAULT_MODE"] = mode_text_;
  (*response->mutable_capabilities())["PID"] = absl::StrCat(getpid());
  // What reached the driver besides the request, so that tests can check
  // what the daemon passes on.
  for (const auto& [key, value] : context->client_metadata()) {
    (*response->mutable_capabilities())[absl::StrCat(
        "METADATA:", std::string(key.data(), key.size()))] =
        std::string(value.data(), value.size());
  }
  return grpc::Status::OK;
}

grpc::Status FaultStorageService::GetStats(grpc::ServerContext* context,
                                           const v1::GetStatsRequest* request,
                                           v1::GetStatsResponse* response) {
  MaybeHang();
  absl::StatusOr<int64_t> delay_ms =
      sdk::Properties(request->context()).GetIntegerOr("delay_ms", 0);
  if (!delay_ms.ok()) return sdk::ToGrpcStatus(delay_ms.status());
  if (*delay_ms < 0) {
    return sdk::ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "property 'delay_ms' is ", *delay_ms, "; it must be 0 or more")));
  }
  // Polls for cancellation so that a cancelled or shut-down call ends early.
  const absl::Time until = absl::Now() + absl::Milliseconds(*delay_ms);
  while (absl::Now() < until) {
    if (context != nullptr && context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "GetStats was cancelled while delayed");
    }
    absl::SleepFor(std::min(absl::Milliseconds(10), until - absl::Now()));
  }
  response->set_capacity_bytes(kTiB);
  response->set_capacity_iops(100000);
  return grpc::Status::OK;
}

grpc::Status FaultStorageService::DeletePool(
    grpc::ServerContext*, const v1::DeletePoolRequest* request,
    v1::DeletePoolResponse*) {
  MaybeHang();
  const v1::ResourceRef& resource = request->context().resource();
  if (resource.type() == "storage_pool" && resource.id() == "crash") {
    sdk::Log("error", "DeletePool storage_pool=crash: aborting on purpose");
    std::abort();
  }
  return grpc::Status::OK;
}

grpc::Status FaultStorageService::CreateVolume(
    grpc::ServerContext*, const v1::CreateVolumeRequest*,
    v1::CreateVolumeResponse* response) {
  MaybeHang();
  if (mode_text_ != "sloppy") {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "the fault driver creates no volumes");
  }
  response->set_vendor_volume_id(absl::StrCat("sloppy-", ++volumes_));
  return grpc::Status::OK;
}

}  // namespace pitstop::fault
