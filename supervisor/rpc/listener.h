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

// Accepts on a listening socket without spinning when the process is out
// of descriptors: it keeps one spare descriptor (/dev/null), and on EMFILE
// or ENFILE gives it up to accept the waiting connection and close it at
// once (the client sees its connection closed, not a hang), then takes the
// spare back. The caller should then stop watching the listener for a
// while: the kernel reports it readable as long as connections wait.
// Loop thread only.
class Acceptor {
 public:
  explicit Acceptor(int listen_fd);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  enum class Result { kAccepted, kNone, kOutOfDescriptors, kFailed };
  // One connection (non-blocking, close-on-exec) in `*fd` when kAccepted;
  // kNone when none is waiting; kOutOfDescriptors when one was refused for
  // lack of descriptors; kFailed for another error (in `*error`).
  Result Accept(int* fd, int* error);

 private:
  const int listen_fd_;
  int spare_ = -1;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_LISTENER_H_
