#include "iscsi_base_service.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pitstop/sdk/log.h"
#include "pitstop/sdk/properties.h"
#include "pitstop/sdk/status.h"

namespace pitstop::iscsi_base {
namespace {

namespace v1 = ::pitstop::driver::v1;

grpc::Status Unimplemented(absl::string_view method) {
  return sdk::ToGrpcStatus(absl::UnimplementedError(absl::StrCat(
      "iscsi-base is a library driver and does not implement ", method,
      "; call a storage driver that manages an array (e.g. flashpool)")));
}

}  // namespace

grpc::Status IscsiBaseService::GetCapabilities(
    grpc::ServerContext*, const v1::GetStorageCapabilitiesRequest* request,
    v1::GetStorageCapabilitiesResponse* response) {
  absl::StatusOr<std::string> prefix =
      sdk::Properties(request->context())
          .GetStringOr("initiator_prefix", kDefaultInitiatorPrefix);
  auto& caps = *response->mutable_capabilities();
  caps["ISCSI"] = "true";
  caps["LIBRARY"] = "true";
  // A library must not fail its callers over a bad bag: fall back.
  caps["INITIATOR_PREFIX"] = prefix.ok() && !prefix->empty()
                                 ? *prefix
                                 : std::string(kDefaultInitiatorPrefix);
  return grpc::Status::OK;
}

grpc::Status IscsiBaseService::GetStats(grpc::ServerContext*,
                                        const v1::GetStatsRequest* request,
                                        v1::GetStatsResponse* response) {
  const v1::ResourceRef& resource = request->context().resource();
  if (resource.type() != "storage_pool" || resource.id().empty()) {
    return sdk::ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "iscsi-base reports stats for a storage_pool only; got ",
        resource.type().empty() ? "no resource type" : resource.type(), " '",
        resource.id(), "'")));
  }
  response->Clear();
  sdk::Log("info", absl::StrCat("GetStats storage_pool=", resource.id(),
                                ": ok (a library holds no capacity)"));
  return grpc::Status::OK;
}

grpc::Status IscsiBaseService::InitializePool(grpc::ServerContext*,
                                              const v1::InitializePoolRequest*,
                                              v1::InitializePoolResponse*) {
  return Unimplemented("InitializePool");
}

grpc::Status IscsiBaseService::CreateVolume(grpc::ServerContext*,
                                            const v1::CreateVolumeRequest*,
                                            v1::CreateVolumeResponse*) {
  return Unimplemented("CreateVolume");
}

}  // namespace pitstop::iscsi_base
