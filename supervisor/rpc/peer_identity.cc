#include "supervisor/rpc/peer_identity.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

// The groups the group database gives `uid`'s user; none for a uid without
// a passwd entry (a sandboxed driver's, say).
std::vector<gid_t> GroupsOf(uid_t uid, gid_t gid) {
  std::vector<char> buffer(16 << 10);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return {};
  }
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (::getgrouplist(pw.pw_name, gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    if (::getgrouplist(pw.pw_name, gid, groups.data(), &count) < 0) return {};
  }
  groups.resize(static_cast<size_t>(count));
  return groups;
}

}  // namespace

std::string PeerIdentity::Describe() const {
  if (local) return absl::StrCat("uid ", uid, " (pid ", pid, ")");
  const std::string& where = address.empty() ? key : address;
  if (certificate_subject.empty()) return where;
  return absl::StrCat("certificate ", certificate_subject, " (", where, ")");
}

std::string PeerHeader(const PeerIdentity& peer) {
  if (peer.local) {
    return absl::StrCat("uid=", peer.uid, " gid=", peer.gid, " pid=", peer.pid);
  }
  std::string header =
      absl::StrCat("address=", peer.address.empty() ? peer.key : peer.address);
  if (!peer.certificate_subject.empty()) {
    absl::StrAppend(&header, " subject=", peer.certificate_subject);
  }
  return header;
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
      id.groups = GroupsOf(cred.uid, cred.gid);
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
