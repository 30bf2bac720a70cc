#ifndef PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_
#define PITSTOP_SUPERVISOR_RPC_GRPC_DRIVER_ENDPOINT_H_

// DriverEndpoint over gRPC on the instance's Unix socket: the supervisor's
// readiness probes, on one channel per instance. Routed calls do not use it:
// the frame router opens its own HTTP/2 connections to socket_path().

#include <grpcpp/channel.h>

#include <atomic>
#include <memory>
#include <string>

#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "supervisor/core/driver_endpoint.h"

namespace pitstop {

class GrpcDriverEndpoint final : public DriverEndpoint {
 public:
  explicit GrpcDriverEndpoint(const std::string& socket_path);

  void Probe(absl::Time deadline,
             std::function<void(absl::StatusOr<ProbeResult>)> done) override;

  // The host path of the driver's socket.
  const std::string& socket_path() const { return socket_path_; }

 private:
  // Constant after construction
  const std::string socket_path_;
  std::unique_ptr<pitstop::driver::v1::IdentityService::Stub> identity_;

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
