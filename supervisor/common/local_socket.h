#ifndef PITSTOP_SUPERVISOR_COMMON_LOCAL_SOCKET_H_
#define PITSTOP_SUPERVISOR_COMMON_LOCAL_SOCKET_H_

// Talking over a Unix stream socket on this host with deadlines: connecting,
// reading exactly so many bytes, passing descriptors (SCM_RIGHTS) and
// learning who is at the other end. For the daemon's private sockets (its
// keepers', the hand-over's), never for client traffic. Each call blocks at
// most until its deadline.

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pitstop {

// Milliseconds left until `deadline` for poll(): 0 once it passed.
int RemainingMs(absl::Time deadline);

// A close-on-exec, non-blocking connection to the socket at `path` made
// within the deadline; -1 with `why` set otherwise ("it refuses
// connections (...)", "it does not accept connections in time", ...).
int ConnectWithin(const std::string& path, absl::Time deadline,
                  std::string* why);

// Reads exactly `size` bytes; false on end of file, an error or the
// deadline.
bool ReadWithin(int fd, void* out, size_t size, absl::Time deadline);

// Sends `bytes` with `fds` attached in one message (at most 8 descriptors).
absl::Status SendWithFds(int fd, absl::string_view bytes,
                         const std::vector<int>& fds);

// One message of at most `max_bytes`, read within the deadline, and the
// descriptors that came with it (close-on-exec; at most 8 are taken, the
// rest closed).
struct Received {
  std::string bytes;  // empty at end of file
  std::vector<int> fds;
};
absl::StatusOr<Received> ReceiveWithFds(int fd, size_t max_bytes,
                                        absl::Time deadline);

// The process at the other end of a connected Unix socket.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
};
absl::StatusOr<PeerCredentials> PeerOf(int fd);

// Whether the peer has closed (or shut down writing on) its end, without
// reading anything; false while it is connected.
bool PeerHungUp(int fd);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_LOCAL_SOCKET_H_
