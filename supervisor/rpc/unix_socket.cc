#include "supervisor/rpc/unix_socket.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pitstop {

bool UnixAddress(const std::string& path, sockaddr_un* addr) {
  *addr = sockaddr_un{};
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

int ConnectUnixSocket(const std::string& path) {
  sockaddr_un addr;
  if (!UnixAddress(path, &addr)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  const int fd =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) !=
      0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

bool UnixSocketAcceptsConnections(const std::string& path) {
  const int fd = ConnectUnixSocket(path);
  if (fd < 0) return errno == EAGAIN;
  ::close(fd);
  return true;
}

}  // namespace pitstop
