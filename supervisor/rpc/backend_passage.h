#ifndef PITSTOP_SUPERVISOR_RPC_BACKEND_PASSAGE_H_
#define PITSTOP_SUPERVISOR_RPC_BACKEND_PASSAGE_H_

// The pass-through to the in-process gRPC server: every client connection
// gets its own socketpair to it (so its streams' flow control stays its
// own), opened with its first passed-through stream. Loop thread only.

#include "supervisor/rpc/connections.h"

namespace grpc {
class Server;
}

namespace pitstop {

class BackendPassages {
 public:
  BackendPassages(Connections& connections, grpc::Server* backend)
      : connections_(connections), backend_(backend) {}

  // The passage of `client`, opened when it has none or its passage got a
  // GOAWAY; nullptr (logged) when no socketpair could be made.
  Connection* For(Connection* client);
  // Unlinks a dead connection from its partner; a dead client's passage is
  // killed too.
  void Unlink(Connection* dead);

 private:
  Connections& connections_;
  grpc::Server* const backend_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_BACKEND_PASSAGE_H_
