#include "supervisor/cli/admin_client.h"

#include <chrono>

namespace pitstop {

AdminClient::AdminClient(const GlobalOptions& options)
    : options_(options),
      channel_(MakeClientChannel(options.address, options.tls)),
      admin_(pitstop::supervisor::v1::AdminService::NewStub(channel_)) {}

int AdminClient::Fail(const grpc::Status& status) const {
  return RpcError(options_.address, status);
}

void AdminClient::SetDeadline(grpc::ClientContext& ctx) const {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(
                       static_cast<int64_t>(options_.timeout_seconds * 1000)));
}

}  // namespace pitstop
