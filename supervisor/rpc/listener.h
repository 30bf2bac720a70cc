#ifndef PITSTOP_SUPERVISOR_RPC_LISTENER_H_
#define PITSTOP_SUPERVISOR_RPC_LISTENER_H_

// The router's listening socket, on a Unix path or a TCP address, and
// accepting from it. Never blocks.

#include <string>

#include "absl/status/statusor.h"

namespace pitstop {

struct ListeningSocket {
  int fd = -1;  // non-blocking, close-on-exec; the caller closes it
  // The address as clients reach it (a picked port filled in).
  std::string address;
};

// Binds and listens on "unix:/absolute/path" or "host:port" (port 0 picks a
// free one). A Unix socket file left by a daemon that is gone is replaced;
// one that still accepts connections is FAILED_PRECONDITION, as is a path
// that is not a socket or an address in use. INVALID_ARGUMENT for an
// address that does not parse.
absl::StatusOr<ListeningSocket> Listen(const std::string& address);

// A connection accepted on `listen_fd` (non-blocking, close-on-exec), or -1
// when none is waiting (an unexpected error is logged).
int AcceptConnection(int listen_fd);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_LISTENER_H_
