#ifndef PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_
#define PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_

// DriverEndpoint over gRPC on the instance's Unix socket: one channel per
// instance, shared by the supervisor's probes and the router's forwarded
// calls.

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include <atomic>
#include <memory>
#include <vector>

#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "supervisor/core/driver_endpoint.h"

namespace pitstop {

class GrpcDriverEndpoint final : public DriverEndpoint {
 public:
  explicit GrpcDriverEndpoint(const std::string& socket_path);

  void Probe(absl::Time deadline,
             std::function<void(absl::StatusOr<ProbeResult>)> done) override;

  // For forwarding calls without knowing their types. Calls are spread
  // over a few connections: one HTTP/2 connection serializes its reads and
  // writes, and would cap the throughput of concurrent callers.
  grpc::GenericStub& generic_stub() {
    return *stubs_[next_.fetch_add(1, std::memory_order_relaxed) %
                   stubs_.size()];
  }

 private:
  // Constant after construction
  const std::string socket_path_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::unique_ptr<pitstop::driver::v1::IdentityService::Stub> identity_;

  std::atomic<uint32_t> next_{0};
  // The driver has been seen accepting connections on its socket.
  std::atomic<bool> listening_{false};
};

class GrpcDriverEndpointFactory final : public DriverEndpointFactory {
 public:
  std::shared_ptr<DriverEndpoint> Connect(
      const std::string& socket_path) override;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_
