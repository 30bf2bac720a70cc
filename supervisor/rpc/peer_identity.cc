#include "supervisor/rpc/peer_identity.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"

namespace pitstop {

std::string PeerIdentity::Describe() const {
  if (local) return absl::StrCat("uid ", uid, " (pid ", pid, ")");
  return address.empty() ? key : address;
}

PeerIdentity IdentifyPeer(int fd) {
  PeerIdentity id;
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0 &&
      addr.ss_family == AF_UNIX) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      id.local = true;
      id.uid = cred.uid;
      id.gid = cred.gid;
      id.pid = cred.pid;
      id.key = absl::StrCat("uid ", cred.uid);
      return id;
    }
  }
  length = sizeof addr;
  char host[INET6_ADDRSTRLEN] = {};
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    if (addr.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
      id.key = host;
      id.address = absl::StrCat(host, ":", ntohs(in->sin_port));
      return id;
    }
    if (addr.ss_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      id.key = host;
      id.address = absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
      return id;
    }
  }
  id.key = "unknown";
  return id;
}

}  // namespace pitstop
