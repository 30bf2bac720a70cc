#include "supervisor/daemon/handover.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/local_socket.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/quoted.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

constexpr char kRequest[] = "pitstop-handover 2";
// Longest line either end sends: "listener " and an address.
constexpr size_t kMaxLine = 512;
// What a peer gets to send its request.
constexpr absl::Duration kRequestTimeout = absl::Seconds(2);

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

absl::Status SendLine(int connection, const std::string& line,
                      const std::vector<int>& fds = {}) {
  return SendWithFds(connection, line + "\n", fds);
}

// Reads one line of at most kMaxLine bytes, byte by byte (it is short, and
// nothing after it may be consumed).
bool ReadShortLine(int connection, absl::Time deadline, std::string* line) {
  char c;
  while (line->size() < kMaxLine) {
    if (!ReadWithin(connection, &c, 1, deadline)) return false;
    if (c == '\n') return true;
    line->push_back(c);
  }
  return false;
}

}  // namespace

std::string HandoverSocketPath(const std::string& state_dir) {
  return (fs::path(state_dir) / "control" / "handover.sock").string();
}

absl::StatusOr<std::unique_ptr<HandoverDoor>> HandoverDoor::Open(
    const std::string& path, std::function<void(HandoverRequest)> on_request) {
  std::error_code ec;
  const fs::path dir = fs::path(path).parent_path();
  fs::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot prepare ", dir.string(), " for the hand-over socket: ",
        ec ? ec.message() : std::strerror(errno)));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(
        absl::StrCat("the hand-over socket path ", path,
                     " is too long; choose a shorter --state-dir"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());  // the lock is ours: whatever is there is stale
  const int fd =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(ErrnoText("socket"));
  const mode_t old_mask = ::umask(0177);
  const bool bound =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::umask(old_mask);
  if (!bound || ::listen(fd, 4) != 0) {
    const std::string why = ErrnoText(absl::StrCat("cannot listen on ", path));
    ::close(fd);
    return absl::FailedPreconditionError(why);
  }
  const int stop = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop < 0) {
    ::close(fd);
    return absl::InternalError(ErrnoText("eventfd"));
  }
  return std::unique_ptr<HandoverDoor>(
      new HandoverDoor(fd, stop, std::move(on_request)));
}

HandoverDoor::HandoverDoor(int listen_fd, int stop_fd,
                           std::function<void(HandoverRequest)> on_request)
    : listen_fd_(listen_fd),
      stop_fd_(stop_fd),
      on_request_(std::move(on_request)) {
  thread_ = std::thread([this] { Loop(); });
}

HandoverDoor::~HandoverDoor() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
}

void HandoverDoor::Loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("pitstopd", ErrnoText("hand-over socket: poll"));
      return;
    }
    if (fds[1].revents != 0) return;
    const int connection =
        ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection >= 0) Answer(connection);
  }
}

void HandoverDoor::Answer(int connection) {
  absl::StatusOr<PeerCredentials> peer = PeerOf(connection);
  if (!peer.ok() || peer->uid != ::geteuid()) {
    LogWarning("pitstopd", "refused a hand-over request from another user",
               {{"uid", peer.ok() ? std::to_string(peer->uid) : "?"}});
    SendRefusal(connection, "only pitstopd's own user may take it over");
    ::close(connection);
    return;
  }
  std::string line;
  if (!ReadShortLine(connection, absl::Now() + kRequestTimeout, &line) ||
      line != kRequest) {
    LogWarning("pitstopd", "refused a malformed hand-over request",
               {{"pid", std::to_string(peer->pid)}, {"request", Quoted(line)}});
    SendRefusal(connection,
                absl::StrCat("expected the line \"", kRequest,
                             "\"; is the new pitstopd of another version?"));
    ::close(connection);
    return;
  }
  on_request_(HandoverRequest{connection, peer->pid});
}

absl::Status SendListener(int connection, int listen_fd,
                          const std::string& address) {
  return SendLine(connection, absl::StrCat("listener ", address), {listen_fd});
}

bool OfferRelease(int connection, absl::Time deadline) {
  if (!SendLine(connection, "drained").ok()) return false;
  std::string line;
  return ReadShortLine(connection, deadline, &line) && line == "take";
}

absl::Status SendReleased(int connection) {
  return SendLine(connection, "released");
}

void SendRefusal(int connection, const std::string& why) {
  SendLine(connection, absl::StrCat("refused ", why)).IgnoreError();
}

absl::StatusOr<Predecessor> Predecessor::Ask(const std::string& path,
                                             absl::Time deadline) {
  std::string why;
  const int connection = ConnectWithin(path, deadline, &why);
  if (connection < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no pitstopd to take over from: its hand-over socket ", path,
        " cannot be reached (", why, "); start without --take-over"));
  }
  absl::StatusOr<PeerCredentials> peer = PeerOf(connection);
  if (!peer.ok() || peer->uid != ::geteuid()) {
    ::close(connection);
    return absl::PermissionDeniedError(
        absl::StrCat("the process serving ", path,
                     " runs as another user; refusing to take over from it"));
  }
  Predecessor p(connection, peer->pid);
  if (absl::Status s = SendLine(connection, kRequest); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the pitstopd being replaced (pid ", p.pid_, ") ", s.message()));
  }
  absl::StatusOr<Received> first =
      ReceiveWithFds(connection, kMaxLine, deadline);
  if (!first.ok() || first->bytes.empty()) {
    for (int fd : first.ok() ? first->fds : std::vector<int>{}) ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("the pitstopd being replaced (pid ", p.pid_,
                     ") did not send its listening socket: ",
                     first.ok() ? "it hung up" : first.status().message()));
  }
  p.buffered_ = std::move(first->bytes);
  for (size_t i = 0; i < first->fds.size(); ++i) {
    if (i == 0) {
      p.listener_ = first->fds[i];
    } else {
      ::close(first->fds[i]);
    }
  }
  absl::StatusOr<std::string> line = p.NextLine(deadline);
  if (!line.ok()) return line.status();
  if (absl::StartsWith(*line, "refused ")) {
    return absl::UnavailableError(
        absl::StrCat("the pitstopd being replaced (pid ", p.pid_,
                     ") refused: ", line->substr(8)));
  }
  if (!absl::StartsWith(*line, "listener ") || p.listener_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("the pitstopd being replaced (pid ", p.pid_, ") answered ",
                     Quoted(*line), " without its listening socket"));
  }
  p.address_ = line->substr(9);
  return p;
}

Predecessor::Predecessor(Predecessor&& other) noexcept
    : connection_(other.connection_),
      pid_(other.pid_),
      listener_(other.listener_),
      address_(std::move(other.address_)),
      buffered_(std::move(other.buffered_)) {
  other.connection_ = -1;
  other.listener_ = -1;
}

Predecessor::~Predecessor() {
  if (connection_ >= 0) ::close(connection_);
  if (listener_ >= 0) ::close(listener_);
}

int Predecessor::TakeListener() {
  const int fd = listener_;
  listener_ = -1;
  return fd;
}

absl::StatusOr<std::string> Predecessor::NextLine(absl::Time deadline) {
  while (true) {
    const size_t nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    if (buffered_.size() > kMaxLine) {
      return absl::UnavailableError(
          absl::StrCat("the pitstopd being replaced (pid ", pid_,
                       ") sent a line over ", kMaxLine, " bytes"));
    }
    absl::StatusOr<Received> more =
        ReceiveWithFds(connection_, kMaxLine, deadline);
    if (more.ok()) {
      for (int fd : more->fds) ::close(fd);
    }
    if (!more.ok() || more->bytes.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "the pitstopd being replaced (pid ", pid_, ") ",
          more.ok()
              ? "hung up: it serves on"
              : absl::StrCat("did not answer: ", more.status().message())));
    }
    buffered_ += more->bytes;
  }
}

absl::Status Predecessor::AwaitReleased(absl::Time deadline) {
  absl::StatusOr<std::string> line = NextLine(deadline);
  if (!line.ok()) return line.status();
  if (*line != "drained") {
    return absl::UnavailableError(
        absl::StrCat("the pitstopd being replaced (pid ", pid_, ") answered ",
                     Quoted(*line), " instead of \"drained\""));
  }
  if (absl::Status s = SendLine(connection_, "take"); !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the pitstopd being replaced (pid ", pid_, ") ", s.message()));
  }
  line = NextLine(deadline);
  if (!line.ok()) return line.status();
  if (*line != "released") {
    return absl::UnavailableError(
        absl::StrCat("the pitstopd being replaced (pid ", pid_, ") answered ",
                     Quoted(*line), " instead of \"released\""));
  }
  ::close(connection_);
  connection_ = -1;
  return absl::OkStatus();
}

}  // namespace pitstop
