#include "nvpnet_service.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "pitstop/sdk/testing/temp_dir.h"

namespace pitstop::nvpnet {
namespace {

namespace v1 = ::pitstop::driver::v1;

v1::CallContext Context(const std::string& network,
                        const std::string& operation_id = "", bool l3 = true) {
  v1::CallContext context;
  context.mutable_resource()->set_type("network");
  context.mutable_resource()->set_id(network);
  context.set_operation_id(operation_id);
  context.set_caller("test");
  auto& props = *context.mutable_properties();
  props["controller_address"].set_string_value("10.0.0.20");
  props["username"].set_string_value("admin");
  props["password"].set_string_value("s3cret");
  props["transport_zone"].set_string_value("tz-1");
  if (l3) props["l3_gateway_service"].set_string_value("l3gw-1");
  return context;
}

// The driver called in-process, as the daemon would call it.
class Fixture {
 public:
  Fixture() { Reopen(); }

  void Reopen() {
    service_.reset();
    auto service = NvpnetService::Create(dir_.path());
    REQUIRE(service.ok());
    service_ = *std::move(service);
  }

  NvpnetService& service() { return *service_; }
  grpc::ServerContext* ctx() { return &server_context_; }

  grpc::Status Implement(const std::string& network,
                         const std::string& cidr = "10.1.1.0/24",
                         v1::ImplementNetworkResponse* out = nullptr,
                         const std::string& operation_id = "") {
    v1::ImplementNetworkRequest request;
    *request.mutable_context() = Context(network, operation_id);
    request.set_cidr(cidr);
    request.set_gateway("10.1.1.1");
    request.set_guest_type("Isolated");
    v1::ImplementNetworkResponse response;
    grpc::Status s =
        service_->ImplementNetwork(&server_context_, &request, &response);
    if (out) *out = response;
    return s;
  }

  grpc::Status PrepareNic(const std::string& network, const std::string& nic,
                          const std::string& mac, const std::string& ip,
                          v1::PrepareNicResponse* out = nullptr) {
    v1::PrepareNicRequest request;
    *request.mutable_context() = Context(network);
    request.mutable_nic()->set_id(nic);
    request.mutable_nic()->set_mac(mac);
    request.mutable_nic()->set_ip(ip);
    request.mutable_vm()->set_id("vm-1");
    request.mutable_vm()->set_name("web-1");
    v1::PrepareNicResponse response;
    grpc::Status s =
        service_->PrepareNic(&server_context_, &request, &response);
    if (out) *out = response;
    return s;
  }

  grpc::Status AllocateIp(const std::string& network, const std::string& ip,
                          bool source_nat = false,
                          v1::IpState state = v1::IP_STATE_ALLOCATED) {
    v1::ApplyIpsRequest request;
    *request.mutable_context() = Context(network);
    v1::PublicIp* p = request.add_ips();
    p->set_ip(ip);
    p->set_source_nat(source_nat);
    p->set_state(state);
    v1::ApplyIpsResponse response;
    return service_->ApplyIps(&server_context_, &request, &response);
  }

  grpc::Status ApplyRules(const v1::ApplyRulesRequest& rules,
                          const std::string& network = "net-1") {
    v1::ApplyRulesRequest request = rules;
    *request.mutable_context() = Context(network);
    v1::ApplyRulesResponse response;
    return service_->ApplyRules(&server_context_, &request, &response);
  }

  grpc::Status Destroy(const std::string& network) {
    v1::DestroyNetworkRequest request;
    *request.mutable_context() = Context(network);
    v1::DestroyNetworkResponse response;
    return service_->DestroyNetwork(&server_context_, &request, &response);
  }

 private:
  sdk::testing::TempDir dir_;
  grpc::ServerContext server_context_;
  std::unique_ptr<NvpnetService> service_;
};

v1::Rule PortForward(const std::string& id, const std::string& public_ip,
                     const std::string& private_ip) {
  v1::Rule rule;
  rule.set_id(id);
  auto* pf = rule.mutable_port_forwarding();
  pf->set_public_ip(public_ip);
  pf->set_protocol("tcp");
  pf->set_public_port_start(80);
  pf->set_public_port_end(80);
  pf->set_private_ip(private_ip);
  pf->set_private_port_start(8080);
  pf->set_private_port_end(8080);
  return rule;
}

TEST_CASE("nvpnet implements a network as a logical switch and keeps it",
          "[nvpnet]") {
  Fixture f;
  v1::ImplementNetworkResponse first;
  REQUIRE(f.Implement("net-1", "10.1.1.0/24", &first).ok());
  REQUIRE(first.details().at("transport_zone") == "tz-1");
  REQUIRE(first.details().at("broadcast_uri") ==
          "lswitch://" + first.details().at("switch_id"));

  f.Reopen();
  v1::ImplementNetworkResponse again;
  REQUIRE(f.Implement("net-1", "10.1.1.0/24", &again).ok());
  REQUIRE(again.details().at("switch_id") == first.details().at("switch_id"));

  grpc::Status other_cidr = f.Implement("net-1", "10.1.0.0/16");
  REQUIRE(other_cidr.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(other_cidr.error_message().find("net-1") != std::string::npos);
}

TEST_CASE("nvpnet refuses malformed networks and missing properties",
          "[nvpnet]") {
  Fixture f;
  REQUIRE(f.Implement("net-1", "10.1.1.0").error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(f.Implement("net-1", "").error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);

  v1::ImplementNetworkRequest request;
  *request.mutable_context() = Context("net-1");
  request.mutable_context()->mutable_properties()->erase("transport_zone");
  request.set_cidr("10.1.1.0/24");
  v1::ImplementNetworkResponse response;
  grpc::Status s = f.service().ImplementNetwork(f.ctx(), &request, &response);
  REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(s.error_message().find("transport_zone") != std::string::npos);
  REQUIRE(s.error_message().find("s3cret") == std::string::npos);

  *request.mutable_context() = Context("net-1");
  request.mutable_context()->mutable_resource()->set_type("volume");
  s = f.service().ImplementNetwork(f.ctx(), &request, &response);
  REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("nvpnet gives each NIC a port and refuses conflicts", "[nvpnet]") {
  Fixture f;
  REQUIRE(f.PrepareNic("net-1", "nic-1", "02:00:00:00:00:01", "10.1.1.10")
              .error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.Implement("net-1").ok());
  v1::PrepareNicResponse port;
  REQUIRE(
      f.PrepareNic("net-1", "nic-1", "02:00:00:00:00:01", "10.1.1.10", &port)
          .ok());
  REQUIRE_FALSE(port.port_id().empty());

  v1::PrepareNicResponse same;
  REQUIRE(
      f.PrepareNic("net-1", "nic-1", "02:00:00:00:00:01", "10.1.1.10", &same)
          .ok());
  REQUIRE(same.port_id() == port.port_id());

  REQUIRE(f.PrepareNic("net-1", "nic-2", "02:00:00:00:00:01", "10.1.1.11")
              .error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.PrepareNic("net-1", "nic-2", "02:00:00:00:00:02", "10.1.1.10")
              .error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.PrepareNic("net-1", "nic-2", "02:00:00:00:00:02", "10.9.9.9")
              .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(
      f.PrepareNic("net-1", "nic-2", "not-a-mac", "10.1.1.11").error_code() ==
      grpc::StatusCode::INVALID_ARGUMENT);

  grpc::Status destroy = f.Destroy("net-1");
  REQUIRE(destroy.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(destroy.error_message().find("nic-1") != std::string::npos);

  v1::ReleaseNicRequest release;
  *release.mutable_context() = Context("net-1");
  release.set_nic_id("nic-1");
  v1::ReleaseNicResponse released;
  REQUIRE(f.service().ReleaseNic(f.ctx(), &release, &released).ok());
  REQUIRE(f.service().ReleaseNic(f.ctx(), &release, &released).error_code() ==
          grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.Destroy("net-1").ok());
  REQUIRE(f.Destroy("net-1").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("nvpnet replaces the rule set wholesale", "[nvpnet]") {
  Fixture f;
  REQUIRE(f.Implement("net-1").ok());
  v1::ApplyRulesRequest rules;
  *rules.add_rules() = PortForward("pf-1", "203.0.113.5", "10.1.1.10");
  grpc::Status no_ip = f.ApplyRules(rules);
  REQUIRE(no_ip.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(no_ip.error_message().find("203.0.113.5") != std::string::npos);

  REQUIRE(f.AllocateIp("net-1", "203.0.113.5", true).ok());
  REQUIRE(f.ApplyRules(rules).ok());
  // The IP is in use by pf-1.
  REQUIRE(f.AllocateIp("net-1", "203.0.113.5", true, v1::IP_STATE_RELEASING)
              .error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // An invalid set changes nothing: pf-1 still holds the IP.
  v1::ApplyRulesRequest bad;
  *bad.add_rules() = PortForward("pf-2", "203.0.113.5", "192.168.0.1");
  REQUIRE(f.ApplyRules(bad).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(f.AllocateIp("net-1", "203.0.113.5", true, v1::IP_STATE_RELEASING)
              .error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // An empty set removes every rule, so the IP can go.
  REQUIRE(f.ApplyRules(v1::ApplyRulesRequest()).ok());
  REQUIRE(
      f.AllocateIp("net-1", "203.0.113.5", true, v1::IP_STATE_RELEASING).ok());
}

TEST_CASE("nvpnet needs an L3 gateway for NAT and load balancing", "[nvpnet]") {
  Fixture f;
  v1::VerifyServicesRequest verify;
  *verify.mutable_context() = Context("net-1", "", /*l3=*/false);
  verify.add_services("Connectivity");
  verify.add_services("SourceNat");
  v1::VerifyServicesResponse verdict;
  REQUIRE(f.service().VerifyServices(f.ctx(), &verify, &verdict).ok());
  REQUIRE_FALSE(verdict.supported());
  REQUIRE(verdict.reason().find("SourceNat") != std::string::npos);

  *verify.mutable_context() = Context("net-1");
  REQUIRE(f.service().VerifyServices(f.ctx(), &verify, &verdict).ok());
  REQUIRE(verdict.supported());

  v1::GetNetworkCapabilitiesRequest caps_request;
  *caps_request.mutable_context() = Context("", "", /*l3=*/false);
  v1::GetNetworkCapabilitiesResponse caps;
  REQUIRE(f.service().GetCapabilities(f.ctx(), &caps_request, &caps).ok());
  REQUIRE(caps.services().count("Firewall") == 1);
  REQUIRE(caps.services().count("Lb") == 0);
}

TEST_CASE("nvpnet replays an operation id instead of applying it twice",
          "[nvpnet]") {
  Fixture f;
  v1::ImplementNetworkResponse first;
  REQUIRE(f.Implement("net-1", "10.1.1.0/24", &first, "op-1").ok());
  REQUIRE(f.Destroy("net-1").ok());
  v1::ImplementNetworkResponse replay;
  REQUIRE(f.Implement("net-1", "10.1.1.0/24", &replay, "op-1").ok());
  REQUIRE(replay.details().at("switch_id") == first.details().at("switch_id"));
  // Replayed, not applied: the network stays destroyed.
  REQUIRE(f.Destroy("net-1").error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.Implement("net-2", "10.1.1.0/24", nullptr, "op-1").error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("nvpnet shutdown with cleanup removes ports, IPs and rules",
          "[nvpnet]") {
  Fixture f;
  REQUIRE(f.Implement("net-1").ok());
  REQUIRE(
      f.PrepareNic("net-1", "nic-1", "02:00:00:00:00:01", "10.1.1.10").ok());
  v1::ShutdownNetworkRequest shutdown;
  *shutdown.mutable_context() = Context("net-1");
  shutdown.set_cleanup(true);
  v1::ShutdownNetworkResponse done;
  REQUIRE(f.service().ShutdownNetwork(f.ctx(), &shutdown, &done).ok());
  REQUIRE(f.PrepareNic("net-1", "nic-2", "02:00:00:00:00:02", "10.1.1.11")
              .error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.Destroy("net-1").ok());
}

}  // namespace
}  // namespace pitstop::nvpnet
