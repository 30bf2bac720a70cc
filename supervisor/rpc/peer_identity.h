#ifndef PITSTOP_SUPERVISOR_RPC_PEER_IDENTITY_H_
#define PITSTOP_SUPERVISOR_RPC_PEER_IDENTITY_H_

// Who is at the other end of a client connection, as the kernel says: on a
// Unix socket the peer's uid, gid and pid (SO_PEERCRED, taken at connect),
// on TCP its address and, with TLS, the client certificate the handshake
// verified. For roles, the per-peer connection limit and the log.

#include <sys/types.h>

#include <string>
#include <vector>

namespace pitstop {

struct PeerIdentity {
  bool local = false;  // a Unix socket: uid, gid and pid hold
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  // The user's groups as the group database lists them (getgrouplist), for
  // "group NAME" principals; the primary gid is `gid`.
  std::vector<gid_t> groups;
  std::string address;  // TCP: "10.0.0.7:40122"; empty on a Unix socket
  // TCP with TLS: the client certificate's subject (RFC 2253, printable
  // ASCII, at most 256 characters) and the names `cert NAME` principals
  // match: its CN and its DNS, URI and email subjectAltNames.
  std::string certificate_subject;
  std::vector<std::string> certificate_names;
  // What the per-peer limit counts by: "uid 1000", "10.0.0.7".
  std::string key;
  // For messages: "uid 1000 (pid 4242)", "10.0.0.7:40122",
  // "certificate CN=ms1,O=Cloud (10.0.0.7:40122)".
  std::string Describe() const;
};

// The metadata key the router sets on every call it passes to the admin
// service, naming the caller: "uid=0 gid=0 pid=4242" on a Unix socket,
// "address=10.0.0.7:40122" on TCP, with " subject=CN=ms1,O=Cloud" after it
// when the client presented a certificate. A client's own is dropped.
inline constexpr char kPeerMetadataKey[] = "pitstop-peer";
std::string PeerHeader(const PeerIdentity& peer);

// The identity of the peer of connected socket `fd`; key "unknown" when the
// kernel says nothing.
PeerIdentity IdentifyPeer(int fd);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_PEER_IDENTITY_H_
