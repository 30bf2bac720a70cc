#ifndef PITSTOP_SUPERVISOR_CLI_ADMIN_CLIENT_H_
#define PITSTOP_SUPERVISOR_CLI_ADMIN_CLIENT_H_

// The CLI's connection to pitstopd: one channel, the AdminService stub, and
// the one way to make a unary admin call (deadline from --timeout, errors
// printed as RpcError does).

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/cli/cli_error.h"
#include "supervisor/cli/client_channel.h"

namespace pitstop {

// The options before the subcommand, shared by every command.
struct GlobalOptions {
  // unix:/PATH or HOST:PORT.
  std::string address;
  // The deadline of every unary call.
  double timeout_seconds = 60;
  // TLS, for a daemon on TCP.
  ClientTls tls;
};

class AdminClient {
 public:
  using Stub = pitstop::supervisor::v1::AdminService::Stub;
  template <typename Request, typename Response>
  using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&,
                                        Response*);

  // Makes the channel (connecting lazily). `options` must outlive this.
  explicit AdminClient(const GlobalOptions& options);

  // Runs one unary call with the --timeout deadline. Blocks.
  template <typename Request, typename Response>
  grpc::Status TryCall(Method<Request, Response> method,
                       const std::common_type_t<Request>& request,
                       Response* response) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return (admin_.get()->*method)(&ctx, request, response);
  }

  // TryCall; on failure prints the error (RpcError) and returns false.
  template <typename Request, typename Response>
  bool Call(Method<Request, Response> method,
            const std::common_type_t<Request>& request, Response* response) {
    const grpc::Status status = TryCall(method, request, response);
    if (!status.ok()) Fail(status);
    return status.ok();
  }

  // Prints a failed call as RpcError does; returns kExitFailure.
  int Fail(const grpc::Status& status) const;

  // Sets the --timeout deadline on a context for a call made directly.
  void SetDeadline(grpc::ClientContext& ctx) const;

  Stub& stub() { return *admin_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  // Constant after construction
  const GlobalOptions& options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> admin_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_ADMIN_CLIENT_H_
