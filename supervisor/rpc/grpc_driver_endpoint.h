#ifndef PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_
#define PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_

// DriverEndpoint over gRPC on the instance's Unix socket: one channel per
// instance, shared by the supervisor's probes and the router's forwarded
// calls.

#include <grpcpp/channel.h>
#include <grpcpp/generic/generic_stub.h>

#include <memory>

#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "supervisor/core/driver_endpoint.h"

namespace pitstop {

class GrpcDriverEndpoint final : public DriverEndpoint {
 public:
  explicit GrpcDriverEndpoint(const std::string& socket_path);

  void Probe(absl::Time deadline,
             std::function<void(absl::StatusOr<ProbeResult>)> done) override;

  // For forwarding calls without knowing their types.
  grpc::GenericStub& generic_stub() { return generic_stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  // Constant after construction
  const std::string socket_path_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_stub_;
  std::unique_ptr<pitstop::driver::v1::IdentityService::Stub> identity_;
};

class GrpcDriverEndpointFactory final : public DriverEndpointFactory {
 public:
  std::shared_ptr<DriverEndpoint> Connect(
      const std::string& socket_path) override;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_
