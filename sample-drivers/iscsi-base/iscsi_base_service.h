#ifndef PITSTOP_SAMPLE_DRIVERS_ISCSI_BASE_ISCSI_BASE_SERVICE_H_
#define PITSTOP_SAMPLE_DRIVERS_ISCSI_BASE_ISCSI_BASE_SERVICE_H_

// iscsi-base: a sample storage "library" driver. It stands for the shared
// iSCSI plumbing other storage drivers build on (flashpool requires it in
// its driver.yaml, so the daemon starts it first); it manages no array.
//
//   GetCapabilities  ISCSI = "true", LIBRARY = "true", and INITIATOR_PREFIX:
//                    the initiator_prefix property (default
//                    "iqn.1994-05.org.pitstop"). Never fails on a missing
//                    property.
//   GetStats         for any storage_pool: all zeros (a library holds no
//                    capacity). INVALID_ARGUMENT for another resource type
//                    or an empty id.
//   every other operation: UNIMPLEMENTED, naming the operation.
//
// Stateless and thread-safe.

#include "pitstop/driver/v1/storage.grpc.pb.h"

namespace pitstop::iscsi_base {

inline constexpr char kDefaultInitiatorPrefix[] = "iqn.1994-05.org.pitstop";

class IscsiBaseService final
    : public pitstop::driver::v1::StorageService::Service {
 public:
  grpc::Status GetCapabilities(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetStorageCapabilitiesRequest* request,
      pitstop::driver::v1::GetStorageCapabilitiesResponse* response) override;
  grpc::Status GetStats(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetStatsRequest* request,
      pitstop::driver::v1::GetStatsResponse* response) override;
  grpc::Status InitializePool(
      grpc::ServerContext* context,
      const pitstop::driver::v1::InitializePoolRequest* request,
      pitstop::driver::v1::InitializePoolResponse* response) override;
  grpc::Status CreateVolume(
      grpc::ServerContext* context,
      const pitstop::driver::v1::CreateVolumeRequest* request,
      pitstop::driver::v1::CreateVolumeResponse* response) override;
};

}  // namespace pitstop::iscsi_base

#endif  // PITSTOP_SAMPLE_DRIVERS_ISCSI_BASE_ISCSI_BASE_SERVICE_H_
