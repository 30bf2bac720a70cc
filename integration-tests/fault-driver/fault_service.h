#ifndef PITSTOP_INTEGRATION_TESTS_FAULT_DRIVER_FAULT_SERVICE_H_
#define PITSTOP_INTEGRATION_TESTS_FAULT_DRIVER_FAULT_SERVICE_H_

// Test-only: the fault driver's storage service.
//
//   GetCapabilities  FAULT_MODE (the fault.conf mode) and PID (this
//                    process), so a test can tell a restarted process.
//   GetStats         waits the delay_ms property (a whole number, default 0)
//                    or until the call is cancelled, then answers a 1 TiB
//                    pool or volume with nothing used: a long call on demand.
//   DeletePool       for the storage_pool "crash": abort()s the process
//                    (SIGABRT); for any other pool, succeeds.
//   CreateVolume     in mode sloppy only: a new volume at every call, its
//                    operation id ignored (what a driver must not do).
//   everything else  UNIMPLEMENTED.
//
// When constructed with `hang`, every call blocks forever instead.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <string>

#include "pitstop/driver/v1/storage.grpc.pb.h"

namespace pitstop::fault {

class FaultStorageService final
    : public pitstop::driver::v1::StorageService::Service {
 public:
  FaultStorageService(std::string mode_text, bool hang)
      : mode_text_(std::move(mode_text)), hang_(hang) {}

  grpc::Status GetCapabilities(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetStorageCapabilitiesRequest* request,
      pitstop::driver::v1::GetStorageCapabilitiesResponse* response) override;
  grpc::Status GetStats(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetStatsRequest* request,
      pitstop::driver::v1::GetStatsResponse* response) override;
  grpc::Status DeletePool(
      grpc::ServerContext* context,
      const pitstop::driver::v1::DeletePoolRequest* request,
      pitstop::driver::v1::DeletePoolResponse* response) override;
  grpc::Status CreateVolume(
      grpc::ServerContext* context,
      const pitstop::driver::v1::CreateVolumeRequest* request,
      pitstop::driver::v1::CreateVolumeResponse* response) override;

 private:
  void MaybeHang() const;

  // Constant after construction.
  const std::string mode_text_;
  const bool hang_;
  std::atomic<uint64_t> volumes_{0};
};

// Blocks the calling thread forever.
[[noreturn]] void BlockForever();

}  // namespace pitstop::fault

#endif  // PITSTOP_INTEGRATION_TESTS_FAULT_DRIVER_FAULT_SERVICE_H_
