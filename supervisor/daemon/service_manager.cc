#include "supervisor/daemon/service_manager.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"

namespace pitstop {

ServiceManager::ServiceManager() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  supervised_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  if (supervised_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = absl::Microseconds(static_cast<int64_t>(usec));
  }
}

void ServiceManager::Notify(const std::string& state) const {
  if (!supervised_) return;
  if (int rc = sd_notify(0, state.c_str()); rc < 0) {
    LogWarning("pitstopd", absl::StrCat("cannot tell systemd (sd_notify): ",
                                        std::strerror(-rc)));
  }
}

void ServiceManager::Ready(const std::string& status) const {
  Notify(absl::StrCat("READY=1\nSTATUS=", status));
}

void ServiceManager::Status(const std::string& status) const {
  Notify(absl::StrCat("STATUS=", status));
}

void ServiceManager::Stopping(const std::string& status) const {
  Notify(absl::StrCat("STOPPING=1\nSTATUS=", status));
}

void ServiceManager::Watchdog() const { Notify("WATCHDOG=1"); }

absl::StatusOr<int> TakeActivatedSocket() {
  // Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES: drivers never see
  // them.
  const int n = sd_listen_fds(1);
  if (n < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "socket activation: LISTEN_FDS is malformed: ", std::strerror(-n)));
  }
  if (n == 0) return -1;
  if (n > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket activation: systemd passed ", n,
                     " sockets; pitstopd serves one (give pitstopd.socket one "
                     "ListenStream=)"));
  }
  const int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
    return absl::InvalidArgumentError(
        "socket activation: the socket systemd passed is not a listening "
        "stream socket (use ListenStream= in pitstopd.socket)");
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

std::string ListeningAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    return "(unknown)";
  }
  char host[INET6_ADDRSTRLEN] = {};
  switch (addr.ss_family) {
    case AF_UNIX:
      return absl::StrCat("unix:",
                          reinterpret_cast<sockaddr_un*>(&addr)->sun_path);
    case AF_INET: {
      const auto* in = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
      return absl::StrCat(host, ":", ntohs(in->sin_port));
    }
    case AF_INET6: {
      const auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
    }
  }
  return "(unknown)";
}

}  // namespace pitstop
