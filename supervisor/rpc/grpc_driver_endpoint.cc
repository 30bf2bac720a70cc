#include "supervisor/rpc/grpc_driver_endpoint.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/rpc/status_conversion.h"
#include "supervisor/rpc/unix_socket.h"

namespace pitstop {
namespace {

namespace v1 = pitstop::driver::v1;

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& socket_path) {
  grpc::ChannelArguments args;
  // A driver's socket appears a few milliseconds after its process starts,
  // and reappears after a restart: retry connecting quickly instead of
  // gRPC's default one-second backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
  // Every instance has its own connection; never share one across channels.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return grpc::CreateCustomChannel(absl::StrCat("unix:", socket_path),
                                   grpc::InsecureChannelCredentials(), args);
}

struct ProbeCall {
  grpc::ClientContext context;
  v1::ProbeRequest request;
  v1::ProbeResponse response;
  std::function<void(absl::StatusOr<ProbeResult>)> done;
};

}  // namespace

GrpcDriverEndpoint::GrpcDriverEndpoint(const std::string& socket_path)
    : socket_path_(socket_path),
      identity_(v1::IdentityService::NewStub(MakeChannel(socket_path))) {}

void GrpcDriverEndpoint::Probe(
    absl::Time deadline,
    std::function<void(absl::StatusOr<ProbeResult>)> done) {
  // Until the driver listens on its socket, connecting would only fail and
  // push the channel into gRPC's reconnect backoff (which does not go below
  // 100 ms here); the supervisor probes again shortly instead. The socket
  // exists from bind(), a moment before listen(), which is when the
  // launcher reports it: so the test is a connection, not the file.
  if (!listening_.load(std::memory_order_acquire)) {
    if (!UnixSocketAcceptsConnections(socket_path_)) {
      done(ProbeResult{false, "not listening on its socket yet"});
      return;
    }
    listening_.store(true, std::memory_order_release);
  }
  auto* call = new ProbeCall;
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  // Wait for the socket to come up rather than fail at once.
  call->context.set_wait_for_ready(true);
  identity_->async()->Probe(
      &call->context, &call->request, &call->response,
      [call](grpc::Status status) {
        std::unique_ptr<ProbeCall> owned(call);
        if (!status.ok()) {
          owned->done(FromGrpcStatus(status));
        } else {
          owned->done(
              ProbeResult{owned->response.ready(), owned->response.message()});
        }
      });
}

std::shared_ptr<DriverEndpoint> GrpcDriverEndpointFactory::Connect(
    const std::string& socket_path) {
  return std::make_shared<GrpcDriverEndpoint>(socket_path);
}

}  // namespace pitstop
