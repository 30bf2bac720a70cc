#ifndef PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_SERVICE_H_
#define PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_SERVICE_H_

// Flashpool: a sample storage driver simulating a SolidFire-like all-flash
// array (pools, thin volumes with min/max/burst IOPS, copy-on-write
// snapshots, per-host access grants). The array is simulated in the driver's
// state directory (see flashpool_store.h), so it survives restarts.
//
// Rules every operation follows:
//   - Every operation but GetCapabilities needs the properties
//     management_vip, storage_vip, admin_username and admin_password (the
//     array to talk to) as non-empty strings: INVALID_ARGUMENT naming the
//     missing one otherwise. The password is never logged.
//   - The resource comes from context.resource: its type must be the one the
//     operation is keyed on ("storage_pool", "volume" or "snapshot") and its
//     id non-empty, else INVALID_ARGUMENT.
//   - Idempotency: a mutating operation that succeeded with an operation id
//     is remembered (the last 4096); the same operation id again returns the
//     first result without applying anything. Reusing an operation id for
//     another method or resource is INVALID_ARGUMENT. Failed operations are
//     not remembered, so a retry tries again.
//   - Errors say what was wrong and what to do, and name the resource.
//
// Per operation:
//   InitializePool  creates the pool (capacity_bytes > 0; capacity_iops 0
//                   means no IOPS limit). ALREADY_EXISTS if it exists.
//   AttachPool      records scope (required), scope id and hypervisor.
//   MaintainPool /  toggle maintenance (idempotent). A pool in maintenance
//   CancelMaintain  takes no new volumes or resizes (FAILED_PRECONDITION).
//   DeletePool      FAILED_PRECONDITION while volumes or snapshots remain, or
//                   for the built-in pool "default".
//   CreateVolume    pool_id empty means the built-in pool "default" (10 TiB);
//                   unknown pool NOT_FOUND; size_bytes > 0 (a clone may pass
//                   0 for its snapshot's size, and not less than it);
//                   min/max IOPS 0 means the default_min_iops /
//                   default_max_iops properties (absent or 0: 100 / 15000);
//                   min <= max; burst = max * burst_iops_percent (absent:
//                   150) / 100. These properties must be whole numbers from
//                   0 to 1e15 (INVALID_ARGUMENT otherwise). RESOURCE_EXHAUSTED
//                   when the pool lacks bytes or guaranteed (min) IOPS.
//                   ALREADY_EXISTS for an existing volume id. snapshot_id
//                   clones a snapshot into the snapshot's pool (another pool_id
//                   is INVALID_ARGUMENT); template_id is UNIMPLEMENTED. Returns
//                   the IQN "iqn.2010-01.com.flashpool:<pool>.<volume>" and a
//                   stable numeric vendor volume id.
//   DeleteVolume    NOT_FOUND if absent; FAILED_PRECONDITION while the volume
//                   has snapshots (delete them first) or access grants
//                   (revoke them first: a host may still use it).
//   ResizeVolume    new size grows; shrinking needs allow_shrink
//                   (INVALID_ARGUMENT otherwise); new IOPS obey the
//                   CreateVolume rules; burst is recomputed.
//   TakeSnapshot    keyed on the snapshot; volume_id required (NOT_FOUND if
//                   absent); ALREADY_EXISTS for an existing snapshot id.
//   DeleteSnapshot  NOT_FOUND if absent.
//   RevertSnapshot  keyed on the volume; the snapshot must exist (NOT_FOUND)
//                   and belong to the volume (INVALID_ARGUMENT); the volume
//                   gets the snapshot's size back.
//   GrantAccess /   host and initiator required; granting twice or revoking
//   RevokeAccess    an absent grant succeeds (the desired state holds).
//   GetStats        for a storage_pool: capacity, bytes provisioned to its
//                   volumes, IOPS capacity and guaranteed (min) IOPS in use;
//                   for a volume: its size as both capacity and used bytes,
//                   max IOPS as capacity, 0 IOPS in use (no simulated I/O).
//   GetCapabilities STORAGE_SYSTEM_SNAPSHOT, CAN_REVERT_VOLUME_TO_SNAPSHOT,
//                   CAN_CREATE_VOLUME_FROM_SNAPSHOT = "true".
//
// Thread-safe: calls may run concurrently; the store serializes changes.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "flashpool_store.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"

namespace pitstop::flashpool {

class FlashpoolService final
    : public pitstop::driver::v1::StorageService::Service {
 public:
  // Opens the simulated array kept in `state_dir` (which must exist).
  // Errors as OpenFlashpoolStore.
  static absl::StatusOr<std::unique_ptr<FlashpoolService>> Create(
      const std::string& state_dir);

  grpc::Status InitializePool(
      grpc::ServerContext* context,
      const pitstop::driver::v1::InitializePoolRequest* request,
      pitstop::driver::v1::InitializePoolResponse* response) override;
  grpc::Status AttachPool(
      grpc::ServerContext* context,
      const pitstop::driver::v1::AttachPoolRequest* request,
      pitstop::driver::v1::AttachPoolResponse* response) override;
  grpc::Status MaintainPool(
      grpc::ServerContext* context,
      const pitstop::driver::v1::MaintainPoolRequest* request,
      pitstop::driver::v1::MaintainPoolResponse* response) override;
  grpc::Status CancelMaintain(
      grpc::ServerContext* context,
      const pitstop::driver::v1::CancelMaintainRequest* request,
      pitstop::driver::v1::CancelMaintainResponse* response) override;
  grpc::Status DeletePool(
      grpc::ServerContext* context,
      const pitstop::driver::v1::DeletePoolRequest* request,
      pitstop::driver::v1::DeletePoolResponse* response) override;
  grpc::Status CreateVolume(
      grpc::ServerContext* context,
      const pitstop::driver::v1::CreateVolumeRequest* request,
      pitstop::driver::v1::CreateVolumeResponse* response) override;
  grpc::Status DeleteVolume(
      grpc::ServerContext* context,
      const pitstop::driver::v1::DeleteVolumeRequest* request,
      pitstop::driver::v1::DeleteVolumeResponse* response) override;
  grpc::Status ResizeVolume(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ResizeVolumeRequest* request,
      pitstop::driver::v1::ResizeVolumeResponse* response) override;
  grpc::Status TakeSnapshot(
      grpc::ServerContext* context,
      const pitstop::driver::v1::TakeSnapshotRequest* request,
      pitstop::driver::v1::TakeSnapshotResponse* response) override;
  grpc::Status DeleteSnapshot(
      grpc::ServerContext* context,
      const pitstop::driver::v1::DeleteSnapshotRequest* request,
      pitstop::driver::v1::DeleteSnapshotResponse* response) override;
  grpc::Status RevertSnapshot(
      grpc::ServerContext* context,
      const pitstop::driver::v1::RevertSnapshotRequest* request,
      pitstop::driver::v1::RevertSnapshotResponse* response) override;
  grpc::Status GrantAccess(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GrantAccessRequest* request,
      pitstop::driver::v1::GrantAccessResponse* response) override;
  grpc::Status RevokeAccess(
      grpc::ServerContext* context,
      const pitstop::driver::v1::RevokeAccessRequest* request,
      pitstop::driver::v1::RevokeAccessResponse* response) override;
  grpc::Status GetStats(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetStatsRequest* request,
      pitstop::driver::v1::GetStatsResponse* response) override;
  grpc::Status GetCapabilities(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetStorageCapabilitiesRequest* request,
      pitstop::driver::v1::GetStorageCapabilitiesResponse* response) override;

 private:
  explicit FlashpoolService(std::unique_ptr<FlashpoolStore> store);

  // Constant after construction.
  const std::unique_ptr<FlashpoolStore> store_;

  // Operations this process handled, whatever their outcome; reported by
  // GetCapabilities as "calls_handled" so tests can tell whether a call
  // reached the driver.
  std::atomic<int64_t> calls_handled_{0};
};

}  // namespace pitstop::flashpool

#endif  // PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_SERVICE_H_
