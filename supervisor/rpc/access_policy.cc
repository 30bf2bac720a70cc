#include "supervisor/rpc/access_policy.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "supervisor/common/quoted.h"

namespace pitstop {
namespace {

constexpr absl::string_view kAdminService =
    "/pitstop.supervisor.v1.AdminService/";

bool AnyMatches(const std::vector<Principal>& list, const PeerIdentity& peer) {
  return std::any_of(list.begin(), list.end(),
                     [&peer](const Principal& p) { return p.Matches(peer); });
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "no role";
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "no role";
}

bool Principal::Matches(const PeerIdentity& peer) const {
  switch (kind) {
    case Kind::kLocal:
      return peer.local;
    case Kind::kTcp:
      return !peer.local;
    case Kind::kCertificate:
      return !peer.local && std::find(peer.certificate_names.begin(),
                                      peer.certificate_names.end(),
                                      name) != peer.certificate_names.end();
    case Kind::kUid:
      return peer.local && peer.uid == id;
    case Kind::kGid:
      return peer.local && (peer.gid == id ||
                            std::find(peer.groups.begin(), peer.groups.end(),
                                      id) != peer.groups.end());
  }
  return false;
}

absl::StatusOr<Principal> ParsePrincipal(absl::string_view text) {
  Principal p;
  p.text = std::string(text);
  if (text == "local") return p;
  if (text == "tcp") {
    p.kind = Principal::Kind::kTcp;
    return p;
  }
  absl::string_view rest = text;
  auto number = [&](Principal::Kind kind) -> absl::StatusOr<Principal> {
    p.kind = kind;
    if (!absl::SimpleAtoi(rest, &p.id)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(text), ": expected a number after '",
                       text.substr(0, text.size() - rest.size()), "'"));
    }
    return p;
  };
  if (absl::ConsumePrefix(&rest, "cert ")) {
    if (rest.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Quoted(text), ": expected a certificate name after 'cert'"));
    }
    p.kind = Principal::Kind::kCertificate;
    p.name = std::string(rest);
    return p;
  }
  if (absl::ConsumePrefix(&rest, "uid ")) return number(Principal::Kind::kUid);
  if (absl::ConsumePrefix(&rest, "gid ")) return number(Principal::Kind::kGid);
  if (absl::ConsumePrefix(&rest, "user ")) {
    const std::string name(rest);
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no user named ", Quoted(name), " on this host"));
    }
    p.kind = Principal::Kind::kUid;
    p.id = pw->pw_uid;
    return p;
  }
  if (absl::ConsumePrefix(&rest, "group ")) {
    const std::string name(rest);
    const group* gr = ::getgrnam(name.c_str());
    if (gr == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no group named ", Quoted(name), " on this host"));
    }
    p.kind = Principal::Kind::kGid;
    p.id = gr->gr_gid;
    return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(Quoted(text),
                   " is not a principal: write 'uid N', 'user NAME', 'gid N', "
                   "'group NAME', 'local', 'cert NAME' or 'tcp'"));
}

Role AccessPolicy::RoleOf(const PeerIdentity& peer) const {
  if (AnyMatches(admins, peer)) return Role::kAdmin;
  if (AnyMatches(operators, peer)) return Role::kOperator;
  if (AnyMatches(viewers, peer)) return Role::kViewer;
  return Role::kNone;
}

bool AccessPolicy::MayRoute(const PeerIdentity& peer,
                            absl::string_view driver) const {
  for (const auto& [name, list] : callers) {
    if ((name == "*" || name == driver) && AnyMatches(list, peer)) return true;
  }
  return false;
}

Role RequiredRole(absl::string_view path) {
  if (absl::StartsWith(path, "/grpc.health.v1.")) return Role::kNone;
  if (absl::StartsWith(path, "/grpc.reflection.")) return Role::kViewer;
  absl::string_view method = path;
  if (!absl::ConsumePrefix(&method, kAdminService)) return Role::kAdmin;
  static const std::map<absl::string_view, Role>* const kTable =
      new std::map<absl::string_view, Role>{
          {"ListDrivers", Role::kViewer},
          {"GetDriver", Role::kViewer},
          {"GetDriverStats", Role::kViewer},
          {"WhereResource", Role::kViewer},
          {"ValidateProperties", Role::kViewer},
          {"GetStartOrder", Role::kViewer},
          {"WatchEvents", Role::kViewer},
          {"ListRepositories", Role::kViewer},
          {"ListUpdates", Role::kViewer},
          {"StartDriver", Role::kOperator},
          {"StopDriver", Role::kOperator},
          {"RestartDriver", Role::kOperator},
          {"ResetDriver", Role::kOperator},
          {"UpgradeDriver", Role::kOperator},
          {"RollbackDriver", Role::kOperator},
          {"ControlCanary", Role::kOperator},
          {"PinResource", Role::kOperator},
          {"UnpinResource", Role::kOperator},
          {"InstallDriver", Role::kAdmin},
          {"RemoveDriver", Role::kAdmin},
          {"AddRepository", Role::kAdmin},
          {"RemoveRepository", Role::kAdmin},
          {"InstallFromRepository", Role::kAdmin},
          {"ListAudit", Role::kOperator},
          {"VerifyAudit", Role::kOperator},
      };
  auto it = kTable->find(method);
  return it == kTable->end() ? Role::kAdmin : it->second;
}

bool Audited(absl::string_view path) {
  absl::string_view method = path;
  if (!absl::ConsumePrefix(&method, kAdminService)) return false;
  if (method == "ListAudit" || method == "VerifyAudit") return false;
  return RequiredRole(path) >= Role::kOperator;
}

}  // namespace pitstop
