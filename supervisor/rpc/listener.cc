#include "supervisor/rpc/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"
#include "supervisor/rpc/unix_socket.h"

namespace pitstop {
namespace {

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

absl::StatusOr<int> ListenUnix(const std::string& address) {
  const std::string path = address.substr(5);
  sockaddr_un addr;
  if (!UnixAddress(path, &addr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "': the path is too long"));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", address, ": ", path,
                       " exists and is not a socket; remove it or choose "
                       "another --listen"));
    }
    if (UnixSocketAcceptsConnections(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", address,
                       ": another process is serving on it; stop it or "
                       "choose another --listen"));
    }
    ::unlink(path.c_str());  // left by a daemon that is gone
  }
  const int fd =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(ErrnoText("socket"));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", address, ": ", error,
                     "; is the directory missing or not writable?"));
  }
  return fd;
}

absl::StatusOr<int> ListenTcp(const std::string& address, int* port) {
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  const std::string service = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                             service.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "': ", ::gai_strerror(rc)));
  }
  std::string error = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        ::listen(fd, SOMAXCONN) == 0) {
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ", address, ": ", error, "; is the address in use?"));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  *port = ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

absl::StatusOr<ListeningSocket> Listen(const std::string& address) {
  if (absl::StartsWith(address, "unix:")) {
    absl::StatusOr<int> fd = ListenUnix(address);
    if (!fd.ok()) return fd.status();
    return ListeningSocket{*fd, address};
  }
  int port = 0;
  absl::StatusOr<int> fd = ListenTcp(address, &port);
  if (!fd.ok()) return fd.status();
  return ListeningSocket{
      *fd, absl::StrCat(address.substr(0, address.rfind(':')), ":", port)};
}

Acceptor::Acceptor(int listen_fd) : listen_fd_(listen_fd) {
  spare_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Acceptor::~Acceptor() {
  if (spare_ >= 0) ::close(spare_);
}

Acceptor::Result Acceptor::Accept(int* fd, int* error) {
  while (true) {
    *fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (*fd >= 0) return Result::kAccepted;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Result::kNone;
    *error = errno;
    if (errno != EMFILE && errno != ENFILE) return Result::kFailed;
    // Out of descriptors: refuse the waiting connection with the spare.
    if (spare_ >= 0) {
      ::close(spare_);
      const int refused = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (refused >= 0) ::close(refused);
      spare_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    return Result::kOutOfDescriptors;
  }
}

}  // namespace pitstop
