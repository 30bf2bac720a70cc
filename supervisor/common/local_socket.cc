#include "supervisor/common/local_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace pitstop {
namespace {

constexpr size_t kMaxFds = 8;

}  // namespace

int RemainingMs(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(ms);
}

int ConnectWithin(const std::string& path, absl::Time deadline,
                  std::string* why) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *why = "its socket path is too long";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *why = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS && errno != EAGAIN) {
    *why = absl::StrCat("it refuses connections (", std::strerror(errno), ")");
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, RemainingMs(deadline)) != 1 ||
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    *why = "it does not accept connections in time";
    ::close(fd);
    return -1;
  }
  return fd;
}

bool ReadWithin(int fd, void* out, size_t size, absl::Time deadline) {
  char* p = static_cast<char*>(out);
  while (size > 0) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, RemainingMs(deadline)) != 1) return false;
    const ssize_t n = ::recv(fd, p, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

absl::Status SendWithFds(int fd, absl::string_view bytes,
                         const std::vector<int>& fds) {
  if (fds.size() > kMaxFds || bytes.empty()) {
    return absl::InvalidArgumentError("SendWithFds: 1 byte or more, 8 fds");
  }
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(bytes.size())) {
    return absl::UnavailableError(
        absl::StrCat("the other end went away: ",
                     n < 0 ? std::strerror(errno) : "a short write"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Received> ReceiveWithFds(int fd, size_t max_bytes,
                                        absl::Time deadline) {
  Received out;
  out.bytes.resize(max_bytes);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  while (true) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, RemainingMs(deadline)) != 1) {
      return absl::DeadlineExceededError("no answer in time");
    }
    iovec iov{out.bytes.data(), out.bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot read: ", std::strerror(errno)));
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
        if (out.fds.size() < kMaxFds) {
          out.fds.push_back(received);
        } else {
          ::close(received);
        }
      }
    }
    out.bytes.resize(static_cast<size_t>(n));
    return out;
  }
}

absl::StatusOr<PeerCredentials> PeerOf(int fd) {
  ucred peer{};
  socklen_t len = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
    return absl::UnavailableError(
        absl::StrCat("SO_PEERCRED: ", std::strerror(errno)));
  }
  return PeerCredentials{peer.pid, peer.uid};
}

bool PeerHungUp(int fd) {
  pollfd pf{fd, POLLRDHUP, 0};
  return ::poll(&pf, 1, 0) == 1 &&
         (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace pitstop
