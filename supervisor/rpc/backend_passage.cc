#include "supervisor/rpc/backend_passage.h"

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"

namespace pitstop {

Connection* BackendPassages::For(Connection* client) {
  if (client->backend != nullptr && !client->backend->going_away) {
    return client->backend;
  }
  if (client->backend != nullptr) {
    // Going away: it ends once its streams have; new ones get a new passage.
    client->backend->client = nullptr;
    client->backend = nullptr;
  }
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) != 0) {
    LogError("pitstopd",
             absl::StrCat("router: socketpair: ", std::strerror(errno)));
    return nullptr;
  }
  grpc::AddInsecureChannelFromFd(backend_, fds[1]);  // takes fds[1]
  Connection* conn = connections_.Add(fds[0], Peer::kBackend);
  conn->client = client;
  client->backend = conn;
  return conn;
}

void BackendPassages::Unlink(Connection* dead) {
  if (dead->backend != nullptr) {
    dead->backend->client = nullptr;
    connections_.Kill(dead->backend, "its client's connection closed");
  }
  if (dead->client != nullptr && dead->client->backend == dead) {
    dead->client->backend = nullptr;
  }
}

}  // namespace pitstop
