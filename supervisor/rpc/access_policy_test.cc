#include "supervisor/rpc/access_policy.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "supervisor/rpc/peer_identity.h"

namespace pitstop {
namespace {

PeerIdentity LocalPeer(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  PeerIdentity peer;
  peer.local = true;
  peer.uid = uid;
  peer.gid = gid;
  peer.pid = 4242;
  peer.groups = std::move(groups);
  peer.key = "uid " + std::to_string(uid);
  return peer;
}

PeerIdentity TlsPeer(std::vector<std::string> names) {
  PeerIdentity peer;
  peer.address = "10.0.0.7:40122";
  peer.key = "10.0.0.7";
  peer.certificate_subject = "CN=" + names.front() + ",O=Cloud";
  peer.certificate_names = std::move(names);
  return peer;
}

Principal Parse(const char* text) {
  absl::StatusOr<Principal> p = ParsePrincipal(text);
  REQUIRE(p.ok());
  return *p;
}

TEST_CASE("principals parse in every documented form and refuse others",
          "[access]") {
  CHECK(Parse("uid 0").kind == Principal::Kind::kUid);
  CHECK(Parse("gid 998").id == 998);
  CHECK(Parse("user root").id == 0);
  CHECK(Parse("local").kind == Principal::Kind::kLocal);
  CHECK(Parse("tcp").kind == Principal::Kind::kTcp);
  CHECK(Parse("cert cloudstack-01").name == "cloudstack-01");
  CHECK(ParsePrincipal("user no-such-user-here").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(ParsePrincipal("uid zero").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(ParsePrincipal("cert ").status().code() ==
        absl::StatusCode::kInvalidArgument);
  const absl::Status other = ParsePrincipal("everyone").status();
  CHECK(absl::StrContains(other.message(), "'cert NAME'"));
}

TEST_CASE(
    "a cert principal matches a TLS client by its CN or a subjectAltName, "
    "never a local peer",
    "[access]") {
  const Principal cert = Parse("cert ms1.cloud.example");
  CHECK(cert.Matches(TlsPeer({"ms1.cloud.example"})));
  CHECK(cert.Matches(TlsPeer({"ms1", "ms1.cloud.example"})));
  CHECK_FALSE(cert.Matches(TlsPeer({"ms2.cloud.example"})));
  CHECK_FALSE(cert.Matches(LocalPeer(0, 0)));
  CHECK(Parse("tcp").Matches(TlsPeer({"anyone"})));
  CHECK_FALSE(Parse("local").Matches(TlsPeer({"anyone"})));
}

TEST_CASE("roles deny by default and the highest matching one wins",
          "[access]") {
  AccessPolicy policy;
  policy.admins = {Parse("uid 0")};
  policy.operators = {Parse("gid 998"), Parse("cert cloudstack")};
  policy.viewers = {Parse("local")};
  policy.callers["flashpool"] = {Parse("cert cloudstack")};
  policy.callers["*"] = {Parse("uid 0")};

  CHECK(policy.RoleOf(LocalPeer(0, 0)) == Role::kAdmin);
  CHECK(policy.RoleOf(LocalPeer(1000, 1000, {998})) == Role::kOperator);
  CHECK(policy.RoleOf(LocalPeer(1000, 1000)) == Role::kViewer);
  CHECK(policy.RoleOf(TlsPeer({"cloudstack"})) == Role::kOperator);
  CHECK(policy.RoleOf(TlsPeer({"dashboard"})) == Role::kNone);

  CHECK(policy.MayRoute(TlsPeer({"cloudstack"}), "flashpool"));
  CHECK_FALSE(policy.MayRoute(TlsPeer({"cloudstack"}), "nvpnet"));
  CHECK(policy.MayRoute(LocalPeer(0, 0), "nvpnet"));
}

TEST_CASE("each admin method needs its documented role", "[access]") {
  const std::string admin = "/pitstop.supervisor.v1.AdminService/";
  CHECK(RequiredRole(admin + "ListDrivers") == Role::kViewer);
  CHECK(RequiredRole(admin + "StopDriver") == Role::kOperator);
  CHECK(RequiredRole(admin + "InstallDriver") == Role::kAdmin);
  CHECK(RequiredRole(admin + "SomethingNew") == Role::kAdmin);
  CHECK(RequiredRole("/grpc.health.v1.Health/Check") == Role::kNone);
  CHECK(Audited(admin + "StopDriver"));
  CHECK_FALSE(Audited(admin + "ListDrivers"));
  CHECK_FALSE(Audited(admin + "ListAudit"));
}

TEST_CASE(
    "a TLS peer is described and passed on with its certificate's subject",
    "[access]") {
  const PeerIdentity peer = TlsPeer({"cloudstack"});
  CHECK(peer.Describe() ==
        "certificate CN=cloudstack,O=Cloud (10.0.0.7:40122)");
  CHECK(PeerHeader(peer) ==
        "address=10.0.0.7:40122 subject=CN=cloudstack,O=Cloud");
  CHECK(PeerHeader(LocalPeer(0, 0)) == "uid=0 gid=0 pid=4242");
}

}  // namespace
}  // namespace pitstop
