#ifndef PITSTOP_SUPERVISOR_RPC_ACCESS_POLICY_H_
#define PITSTOP_SUPERVISOR_RPC_ACCESS_POLICY_H_

// Who may do what (docs/security.md, "Roles"): deny by default. A client's
// identity is what the kernel says of its connection (PeerIdentity); the
// configuration names principals for three roles, each including the ones
// below it, and for routing calls to drivers:
//
//   viewer    reads: list, describe, order, events, validate, packages,
//             updates, the repository list, server reflection
//   operator  + start, stop, restart, reset, upgrade, rollback
//   admin     + install, remove, grants, repositories
//   callers   route calls to a driver (per driver, or "*" for all)
//
// The health service needs no role. A method of the admin service that the
// table does not know needs admin.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "supervisor/rpc/peer_identity.h"

namespace pitstop {

enum class Role { kNone = 0, kViewer = 1, kOperator = 2, kAdmin = 3 };

// "viewer", "operator", "admin", "no role".
absl::string_view RoleName(Role role);

// One entry of a role's list: "uid 0", "user cloud", "gid 998",
// "group pitstop", "local" (any peer on the Unix socket), "cert NAME" (a
// TLS client whose verified certificate has NAME as its CN or as a DNS, URI
// or email subjectAltName) or "tcp" (any TCP peer: with TLS, any client
// certificate tls_client_ca issued; with insecure_tcp, anyone).
struct Principal {
  enum class Kind { kUid, kGid, kLocal, kTcp, kCertificate };
  Kind kind = Kind::kLocal;
  uint32_t id = 0;
  std::string name;  // kCertificate
  std::string text;  // as written
  bool Matches(const PeerIdentity& peer) const;
};

// INVALID_ARGUMENT for a form not listed; NOT_FOUND for a user or group
// name this host does not know (the caller decides: the default
// configuration names the pitstop group, which may not exist).
absl::StatusOr<Principal> ParsePrincipal(absl::string_view text);

struct AccessPolicy {
  std::vector<Principal> admins;
  std::vector<Principal> operators;
  std::vector<Principal> viewers;
  // Driver name (or "*") -> who may route calls to it.
  std::map<std::string, std::vector<Principal>> callers;

  // The highest role `peer` holds.
  Role RoleOf(const PeerIdentity& peer) const;
  bool MayRoute(const PeerIdentity& peer, absl::string_view driver) const;
};

// The role a passed-through method (an HTTP/2 :path) needs.
Role RequiredRole(absl::string_view path);

// Whether a call of `path` goes on the audit trail: every admin method that
// changes something (those needing operator or admin), not reading the
// trail itself.
bool Audited(absl::string_view path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ACCESS_POLICY_H_
