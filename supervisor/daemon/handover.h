#ifndef PITSTOP_SUPERVISOR_DAEMON_HANDOVER_H_
#define PITSTOP_SUPERVISOR_DAEMON_HANDOVER_H_

// The planned hand-over from a running pitstopd to a new one on the same
// state directory (docs/lifecycle.md, "Handing over to a new pitstopd"),
// over a control socket only the daemon's user can reach
// (<state>/control/handover.sock, its directory 0700; both ends check the
// other's uid with SO_PEERCRED). One line each way:
//
//   new -> old   "pitstop-handover 2"
//   old -> new   "listener <address>", the listening socket attached
//                (SCM_RIGHTS): the old daemon accepts no more and has sent
//                its clients GOAWAY; or "refused <why>"
//   old -> new   "drained": its calls are done, it waits for the word
//   new -> old   "take": the new daemon commits; nothing else does
//   old -> new   "released": drivers and the state directory's lock let
//                go; the old daemon exits. A hang-up instead means the old
//                one serves on.
//
// The new daemon gives up by closing its end (or by not answering "take"
// within kTakeTimeout); the old one then accepts again and serves on. The
// commit is the new daemon's explicit word, not the absence of a hang-up,
// so a new daemon giving up at any moment before "take" can never leave
// the drivers without a daemon.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pitstop {

// The control socket of the daemon serving `state_dir`.
std::string HandoverSocketPath(const std::string& state_dir);

// A new daemon's request, as the old one receives it.
struct HandoverRequest {
  int connection = -1;  // owned by whoever holds the request
  pid_t pid = 0;        // the new daemon's
};

// The old daemon's end: listens on the control socket and passes each
// well-formed request from a process of the daemon's own uid to
// `on_request` (on its own thread); anything else is refused and closed,
// within two seconds per connection. Thread-safe.
class HandoverDoor {
 public:
  // Binds `path` (replacing a socket file left there), mode 0600.
  static absl::StatusOr<std::unique_ptr<HandoverDoor>> Open(
      const std::string& path, std::function<void(HandoverRequest)> on_request);
  // Stops listening. The socket file stays: it may be the next daemon's.
  ~HandoverDoor();
  HandoverDoor(const HandoverDoor&) = delete;
  HandoverDoor& operator=(const HandoverDoor&) = delete;

 private:
  HandoverDoor(int listen_fd, int stop_fd,
               std::function<void(HandoverRequest)> on_request);
  void Loop();
  void Answer(int connection);

  const int listen_fd_;
  const int stop_fd_;
  const std::function<void(HandoverRequest)> on_request_;
  std::thread thread_;
};

// The old daemon's answers, in order.
absl::Status SendListener(int connection, int listen_fd,
                          const std::string& address);
// Says the calls are drained and waits until `deadline` for the new
// daemon's "take"; false when it hung up, said anything else or was silent.
bool OfferRelease(int connection, absl::Time deadline);
absl::Status SendReleased(int connection);
void SendRefusal(int connection, const std::string& why);

// The new daemon's end.
class Predecessor {
 public:
  // Asks the daemon behind `path` to hand over; returns once it sent its
  // listening socket. FAILED_PRECONDITION when no daemon answers there,
  // PERMISSION_DENIED for one of another user, UNAVAILABLE when it refused.
  static absl::StatusOr<Predecessor> Ask(const std::string& path,
                                         absl::Time deadline);
  Predecessor(Predecessor&& other) noexcept;
  Predecessor& operator=(Predecessor&&) = delete;
  // Closing before AwaitReleased returned tells the old daemon to serve on.
  ~Predecessor();

  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }
  // The listening socket, once; the caller owns it.
  int TakeListener();
  // Waits for the old daemon to drain, commits ("take") and waits until it
  // has let go of its drivers and the lock.
  absl::Status AwaitReleased(absl::Time deadline);

 private:
  Predecessor(int connection, pid_t pid) : connection_(connection), pid_(pid) {}
  // The next line the old daemon sent (without "\n").
  absl::StatusOr<std::string> NextLine(absl::Time deadline);

  int connection_ = -1;
  pid_t pid_ = 0;
  int listener_ = -1;
  std::string address_;
  std::string buffered_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_HANDOVER_H_
