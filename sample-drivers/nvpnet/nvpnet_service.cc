#include "nvpnet_service.h"

#include <arpa/inet.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pitstop/sdk/log.h"
#include "pitstop/sdk/properties.h"
#include "pitstop/sdk/status.h"

namespace pitstop::nvpnet {
namespace {

namespace v1 = ::pitstop::driver::v1;

constexpr char kNetwork[] = "network";

// The properties naming the controller; without them the driver cannot know
// which controller and transport zone to use.
absl::Status RequireControllerProperties(const v1::CallContext& context) {
  const sdk::Properties properties(context);
  PITSTOP_RETURN_IF_ERROR(properties.RequireStrings(
      {"controller_address", "username", "password", "transport_zone"},
      "nvpnet needs controller_address, username, password and "
      "transport_zone to know which controller to talk to"));
  return sdk::Properties(context)
      .GetStringOr("l3_gateway_service", "")
      .status();
}

// Only meaningful once RequireControllerProperties has passed.
std::string StringProperty(const v1::CallContext& context,
                           absl::string_view key) {
  return sdk::Properties(context).GetStringOr(key, "").value_or("");
}

bool HasL3Gateway(const v1::CallContext& context) {
  return !StringProperty(context, "l3_gateway_service").empty();
}

absl::StatusOr<std::string> RequireNetwork(const v1::CallContext& context) {
  return sdk::RequireResource(context, kNetwork);
}

// An IPv4 address in host byte order.
absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text,
                                   absl::string_view what) {
  in_addr addr;
  if (inet_pton(AF_INET, std::string(text).c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", text, "' is not an IPv4 address such as 10.1.1.10"));
  }
  return ntohl(addr.s_addr);
}

struct Cidr {
  uint32_t network = 0;
  uint32_t mask = 0;
  bool Contains(uint32_t ip) const { return (ip & mask) == network; }
};

absl::StatusOr<Cidr> ParseCidr(absl::string_view text, absl::string_view what) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  int prefix = -1;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &prefix) || prefix < 0 ||
      prefix > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", text, "' is not an IPv4 CIDR such as 10.1.1.0/24"));
  }
  absl::StatusOr<uint32_t> ip = ParseIpv4(parts[0], what);
  if (!ip.ok()) return ip.status();
  Cidr cidr;
  cidr.mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  cidr.network = *ip & cidr.mask;
  return cidr;
}

// A MAC address in lower case, or INVALID_ARGUMENT.
absl::StatusOr<std::string> NormalizeMac(absl::string_view text,
                                         absl::string_view nic_id) {
  std::vector<absl::string_view> octets = absl::StrSplit(text, ':');
  bool ok = octets.size() == 6;
  for (absl::string_view octet : octets) {
    ok = ok && octet.size() == 2 && absl::ascii_isxdigit(octet[0]) &&
         absl::ascii_isxdigit(octet[1]);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("NIC '", nic_id, "': MAC address '", text,
                     "' is not of the form 02:00:5e:10:00:01"));
  }
  return absl::AsciiStrToLower(text);
}

std::string NewUuid() {
  absl::BitGen gen;
  auto part = [&gen](int bits) {
    return absl::Uniform<uint64_t>(gen, 0, uint64_t{1} << bits);
  };
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", part(32), part(16),
                         part(12), 0x8000 | part(14), part(48));
}

absl::StatusOr<SwitchRecord*> FindSwitch(ControllerState& state,
                                         const std::string& network_id) {
  auto it = state.switches.find(network_id);
  if (it == state.switches.end()) {
    return absl::NotFoundError(absl::StrCat(
        "network '", network_id,
        "' has no logical switch on the controller; implement it first with "
        "ImplementNetwork"));
  }
  return &it->second;
}

absl::StatusOr<SwitchRecord*> FindUpSwitch(ControllerState& state,
                                           const std::string& network_id) {
  absl::StatusOr<SwitchRecord*> s = FindSwitch(state, network_id);
  if (s.ok() && !(*s)->up) {
    return absl::FailedPreconditionError(absl::StrCat(
        "network '", network_id,
        "' is shut down; implement it again with ImplementNetwork first"));
  }
  return s;
}

std::vector<std::string> SupportedServices(const v1::CallContext& context) {
  std::vector<std::string> services = {"Connectivity", "Firewall"};
  if (HasL3Gateway(context)) {
    for (const char* s : {"Lb", "PortForwarding", "SourceNat", "StaticNat"}) {
      services.push_back(s);
    }
  }
  return services;
}

absl::Status RequireL3(const v1::CallContext& context,
                       const std::string& network_id, absl::string_view what) {
  if (HasL3Gateway(context)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "network '", network_id, "': ", what,
      " needs the controller's L3 gateway; set the l3_gateway_service "
      "property"));
}

// Runs a mutating operation: checks the properties and the network, replays
// a remembered result for a known operation id, else applies `apply` and
// remembers its response.
template <typename Response>
grpc::Status Mutate(
    NvpnetStore& store, absl::string_view method,
    const v1::CallContext& context, Response* response,
    absl::FunctionRef<absl::Status(ControllerState&, const std::string&)>
        apply) {
  bool replayed = false;
  absl::Status status = [&]() -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(RequireControllerProperties(context));
    absl::StatusOr<std::string> id = RequireNetwork(context);
    if (!id.ok()) return id.status();
    return store.Update([&](ControllerState& state) {
      return state.operations.Run(
          context.operation_id(), method, *id, *response,
          [&] { return apply(state, *id); }, &replayed);
    });
  }();
  sdk::LogCall(method, context, status, replayed);
  return sdk::ToGrpcStatus(status);
}

absl::Status CheckBroadcastUri(const std::string& network_id,
                               const std::string& uri) {
  if (uri.empty() || absl::StartsWith(uri, "lswitch://")) {
    return absl::OkStatus();
  }
  int vlan = 0;
  if (absl::StartsWith(uri, "vlan://") &&
      absl::SimpleAtoi(absl::string_view(uri).substr(7), &vlan) && vlan >= 1 &&
      vlan <= 4094) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("network '", network_id, "': broadcast_uri '", uri,
                   "' must be empty, lswitch://<id> or vlan://<1-4094>"));
}

absl::StatusOr<std::string> NormalizeGuestType(const std::string& network_id,
                                               const std::string& guest_type) {
  if (guest_type.empty()) return std::string("Isolated");
  for (const char* known : {"Isolated", "Shared", "L2"}) {
    if (absl::EqualsIgnoreCase(guest_type, known)) return std::string(known);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("network '", network_id, "': guest_type '", guest_type,
                   "' must be Isolated, Shared or L2"));
}

absl::Status CheckPorts(const std::string& rule_id, absl::string_view what,
                        uint32_t start, uint32_t end) {
  if (start >= 1 && end <= 65535 && start <= end) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("rule '", rule_id, "': ", what, " ports ", start, "-", end,
                   " must be within 1-65535 with start <= end"));
}

absl::Status CheckProtocol(const std::string& rule_id,
                           const std::string& protocol, bool firewall) {
  const std::string p = absl::AsciiStrToLower(protocol);
  if (p == "tcp" || p == "udp") return absl::OkStatus();
  if (firewall && (p == "icmp" || p == "all")) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("rule '", rule_id, "': protocol '", protocol,
                   "' must be tcp or udp", firewall ? ", icmp or all" : ""));
}

// Checks one rule against the network (its public IPs and cidr).
absl::Status CheckRule(const v1::CallContext& context, const SwitchRecord& sw,
                       const v1::Rule& rule) {
  const std::string& id = rule.id();
  const absl::StatusOr<Cidr> cidr = ParseCidr(sw.cidr, "cidr");
  if (!cidr.ok()) return cidr.status();
  auto public_ip = [&](const std::string& ip) -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(
        ParseIpv4(ip, absl::StrCat("rule '", id, "': public IP")).status());
    if (sw.ips.count(ip)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "rule '", id, "': public IP ", ip, " is not allocated on network '",
        sw.network_id, "'; allocate it with ApplyIps first"));
  };
  auto private_ip = [&](const std::string& ip,
                        absl::string_view what) -> absl::Status {
    absl::StatusOr<uint32_t> addr =
        ParseIpv4(ip, absl::StrCat("rule '", id, "': ", what));
    if (!addr.ok()) return addr.status();
    if (cidr->Contains(*addr)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "rule '", id, "': ", what, " ", ip, " is outside network '",
        sw.network_id, "' (", sw.cidr, ")"));
  };
  switch (rule.rule_case()) {
    case v1::Rule::kPortForwarding: {
      PITSTOP_RETURN_IF_ERROR(
          RequireL3(context, sw.network_id, "port forwarding"));
      const v1::PortForwardingRule& r = rule.port_forwarding();
      PITSTOP_RETURN_IF_ERROR(public_ip(r.public_ip()));
      PITSTOP_RETURN_IF_ERROR(private_ip(r.private_ip(), "private IP"));
      PITSTOP_RETURN_IF_ERROR(CheckProtocol(id, r.protocol(), false));
      PITSTOP_RETURN_IF_ERROR(
          CheckPorts(id, "public", r.public_port_start(), r.public_port_end()));
      PITSTOP_RETURN_IF_ERROR(CheckPorts(id, "private", r.private_port_start(),
                                         r.private_port_end()));
      if (r.public_port_end() - r.public_port_start() !=
          r.private_port_end() - r.private_port_start()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rule '", id,
            "': the public and private port ranges must have the same size"));
      }
      return absl::OkStatus();
    }
    case v1::Rule::kStaticNat:
      PITSTOP_RETURN_IF_ERROR(RequireL3(context, sw.network_id, "static NAT"));
      PITSTOP_RETURN_IF_ERROR(public_ip(rule.static_nat().public_ip()));
      return private_ip(rule.static_nat().private_ip(), "private IP");
    case v1::Rule::kFirewall: {
      const v1::FirewallRule& r = rule.firewall();
      if (!r.egress() || !r.public_ip().empty()) {
        PITSTOP_RETURN_IF_ERROR(public_ip(r.public_ip()));
      }
      PITSTOP_RETURN_IF_ERROR(CheckProtocol(id, r.protocol(), true));
      const std::string protocol = absl::AsciiStrToLower(r.protocol());
      if (protocol == "tcp" || protocol == "udp") {
        PITSTOP_RETURN_IF_ERROR(
            CheckPorts(id, "firewall", r.port_start(), r.port_end()));
      }
      for (const std::string& source : r.source_cidrs()) {
        PITSTOP_RETURN_IF_ERROR(
            ParseCidr(source, absl::StrCat("rule '", id, "': source CIDR"))
                .status());
      }
      return absl::OkStatus();
    }
    case v1::Rule::kLoadBalancer: {
      PITSTOP_RETURN_IF_ERROR(
          RequireL3(context, sw.network_id, "load balancing"));
      const v1::LoadBalancerRule& r = rule.load_balancer();
      PITSTOP_RETURN_IF_ERROR(public_ip(r.public_ip()));
      PITSTOP_RETURN_IF_ERROR(
          CheckPorts(id, "public", r.public_port(), r.public_port()));
      PITSTOP_RETURN_IF_ERROR(
          CheckPorts(id, "private", r.private_port(), r.private_port()));
      const std::string algorithm = absl::AsciiStrToLower(r.algorithm());
      if (algorithm != "roundrobin" && algorithm != "leastconn" &&
          algorithm != "source") {
        return absl::InvalidArgumentError(
            absl::StrCat("rule '", id, "': algorithm '", r.algorithm(),
                         "' must be roundrobin, leastconn or source"));
      }
      if (r.backend_ips().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rule '", id, "': a load balancer needs at least one backend IP"));
      }
      for (const std::string& backend : r.backend_ips()) {
        PITSTOP_RETURN_IF_ERROR(private_ip(backend, "backend IP"));
      }
      return absl::OkStatus();
    }
    case v1::Rule::RULE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "rule '", id,
      "' sets no kind; set port_forwarding, static_nat, firewall or "
      "load_balancer"));
}

// The public IPs `rule` uses.
std::vector<std::string> PublicIpsOf(const v1::Rule& rule) {
  switch (rule.rule_case()) {
    case v1::Rule::kPortForwarding:
      return {rule.port_forwarding().public_ip()};
    case v1::Rule::kStaticNat:
      return {rule.static_nat().public_ip()};
    case v1::Rule::kFirewall:
      return {rule.firewall().public_ip()};
    case v1::Rule::kLoadBalancer:
      return {rule.load_balancer().public_ip()};
    case v1::Rule::RULE_NOT_SET:
      break;
  }
  return {};
}

}  // namespace

absl::StatusOr<std::unique_ptr<NvpnetService>> NvpnetService::Create(
    const std::string& state_dir) {
  absl::StatusOr<std::unique_ptr<NvpnetStore>> store =
      OpenNvpnetStore(state_dir);
  if (!store.ok()) return store.status();
  return std::unique_ptr<NvpnetService>(new NvpnetService(*std::move(store)));
}

NvpnetService::NvpnetService(std::unique_ptr<NvpnetStore> store)
    : store_(std::move(store)) {}

grpc::Status NvpnetService::GetCapabilities(
    grpc::ServerContext*, const v1::GetNetworkCapabilitiesRequest* request,
    v1::GetNetworkCapabilitiesResponse* response) {
  auto& services = *response->mutable_services();
  auto& connectivity = *services["Connectivity"].mutable_capabilities();
  connectivity["StretchedL2Subnet"] = "true";
  connectivity["TransportZone"] =
      StringProperty(request->context(), "transport_zone");
  auto& firewall = *services["Firewall"].mutable_capabilities();
  firewall["SupportedProtocols"] = "tcp,udp,icmp,all";
  firewall["SupportedEgressProtocols"] = "tcp,udp,icmp,all";
  firewall["MultipleIps"] = "true";
  if (HasL3Gateway(request->context())) {
    (*services["SourceNat"].mutable_capabilities())["SupportedSourceNatTypes"] =
        "peraccount";
    (*services["StaticNat"].mutable_capabilities())["ElasticIp"] = "false";
    (*services["PortForwarding"].mutable_capabilities())["SupportedProtocols"] =
        "tcp,udp";
    auto& lb = *services["Lb"].mutable_capabilities();
    lb["SupportedLBAlgorithms"] = "roundrobin,leastconn,source";
    lb["SupportedProtocols"] = "tcp,udp";
  }
  sdk::LogCall("GetCapabilities", request->context(), absl::OkStatus());
  return grpc::Status::OK;
}

grpc::Status NvpnetService::VerifyServices(
    grpc::ServerContext*, const v1::VerifyServicesRequest* request,
    v1::VerifyServicesResponse* response) {
  const v1::CallContext& context = request->context();
  absl::Status status = [&]() -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(RequireControllerProperties(context));
    absl::StatusOr<std::string> id = RequireNetwork(context);
    if (!id.ok()) return id.status();
    const std::vector<std::string> supported = SupportedServices(context);
    const std::set<std::string> known(supported.begin(), supported.end());
    std::vector<std::string> missing;
    for (const std::string& service : request->services()) {
      if (!known.count(service)) missing.push_back(service);
    }
    response->set_supported(missing.empty());
    if (!missing.empty()) {
      response->set_reason(absl::StrCat(
          "network '", *id, "': nvpnet does not provide ",
          absl::StrJoin(missing, ", "),
          " with this configuration; it provides ",
          absl::StrJoin(supported, ", "),
          HasL3Gateway(context)
              ? ""
              : " (set l3_gateway_service for SourceNat, StaticNat, "
                "PortForwarding and Lb)"));
    }
    return absl::OkStatus();
  }();
  sdk::LogCall("VerifyServices", context, status);
  return sdk::ToGrpcStatus(status);
}

grpc::Status NvpnetService::ImplementNetwork(
    grpc::ServerContext*, const v1::ImplementNetworkRequest* request,
    v1::ImplementNetworkResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, "ImplementNetwork", context, response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        if (request->cidr().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("network '", id,
                           "': cidr is empty; give the guest CIDR, e.g. "
                           "10.1.1.0/24"));
        }
        absl::StatusOr<Cidr> cidr = ParseCidr(
            request->cidr(), absl::StrCat("network '", id, "': cidr"));
        if (!cidr.ok()) return cidr.status();
        if (!request->gateway().empty()) {
          absl::StatusOr<uint32_t> gateway = ParseIpv4(
              request->gateway(), absl::StrCat("network '", id, "': gateway"));
          if (!gateway.ok()) return gateway.status();
          if (!cidr->Contains(*gateway)) {
            return absl::InvalidArgumentError(
                absl::StrCat("network '", id, "': gateway ", request->gateway(),
                             " is outside its cidr ", request->cidr()));
          }
        }
        PITSTOP_RETURN_IF_ERROR(
            CheckBroadcastUri(id, request->broadcast_uri()));
        absl::StatusOr<std::string> guest_type =
            NormalizeGuestType(id, request->guest_type());
        if (!guest_type.ok()) return guest_type.status();

        const std::string transport_zone =
            StringProperty(context, "transport_zone");
        auto it = state.switches.find(id);
        if (it != state.switches.end()) {
          SwitchRecord& existing = it->second;
          if (existing.cidr != request->cidr()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "network '", id, "' is already implemented with cidr ",
                existing.cidr, ", not ", request->cidr(),
                "; destroy it first to change its cidr"));
          }
          existing.up = true;
        } else {
          SwitchRecord sw;
          sw.network_id = id;
          sw.switch_id = NewUuid();
          sw.cidr = request->cidr();
          sw.gateway = request->gateway();
          sw.broadcast_uri = request->broadcast_uri();
          sw.guest_type = *guest_type;
          sw.zone = request->zone();
          sw.transport_zone = transport_zone;
          it = state.switches.emplace(id, std::move(sw)).first;
        }
        const SwitchRecord& sw = it->second;
        auto& details = *response->mutable_details();
        details["switch_id"] = sw.switch_id;
        details["transport_zone"] = sw.transport_zone;
        details["controller"] = StringProperty(context, "controller_address");
        details["broadcast_uri"] = absl::StrCat("lswitch://", sw.switch_id);
        details["guest_type"] = sw.guest_type;
        return absl::OkStatus();
      });
}

grpc::Status NvpnetService::PrepareNic(grpc::ServerContext*,
                                       const v1::PrepareNicRequest* request,
                                       v1::PrepareNicResponse* response) {
  return Mutate(
      *store_, "PrepareNic", request->context(), response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SwitchRecord*> sw = FindUpSwitch(state, id);
        if (!sw.ok()) return sw.status();
        const v1::Nic& nic = request->nic();
        if (nic.id().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "network '", id, "': nic.id is empty; set the NIC's id"));
        }
        absl::StatusOr<std::string> mac = NormalizeMac(nic.mac(), nic.id());
        if (!mac.ok()) return mac.status();
        if (!nic.ip().empty()) {
          absl::StatusOr<uint32_t> ip =
              ParseIpv4(nic.ip(), absl::StrCat("NIC '", nic.id(), "': IP"));
          if (!ip.ok()) return ip.status();
          absl::StatusOr<Cidr> cidr = ParseCidr((*sw)->cidr, "cidr");
          if (!cidr.ok()) return cidr.status();
          if (!cidr->Contains(*ip)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "NIC '", nic.id(), "': IP ", nic.ip(), " is outside network '",
                id, "' (", (*sw)->cidr, ")"));
          }
        }
        for (const auto& [other_id, port] : (*sw)->ports) {
          if (other_id == nic.id()) {
            if (port.mac != *mac || port.ip != nic.ip()) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "NIC '", nic.id(), "' already has a port on network '", id,
                  "' with MAC ", port.mac, " and IP '", port.ip,
                  "'; release it with ReleaseNic before preparing it "
                  "again"));
            }
            continue;
          }
          if (port.mac == *mac) {
            return absl::FailedPreconditionError(absl::StrCat(
                "NIC '", nic.id(), "': MAC ", *mac, " is already used by NIC '",
                other_id, "' on network '", id, "'"));
          }
          if (!nic.ip().empty() && port.ip == nic.ip()) {
            return absl::FailedPreconditionError(
                absl::StrCat("NIC '", nic.id(), "': IP ", nic.ip(),
                             " is already used by NIC '", other_id,
                             "' on network '", id, "'"));
          }
        }
        PortRecord& port = (*sw)->ports[nic.id()];
        if (port.port_id.empty()) {
          port.nic_id = nic.id();
          port.port_id = NewUuid();
          port.mac = *mac;
          port.ip = nic.ip();
        }
        port.vm_id = request->vm().id();
        port.vm_name = request->vm().name();
        response->set_port_id(port.port_id);
        auto& details = *response->mutable_details();
        details["switch_id"] = (*sw)->switch_id;
        details["attachment"] = absl::StrCat("vif:", port.mac);
        if (!port.vm_name.empty()) details["display_name"] = port.vm_name;
        return absl::OkStatus();
      });
}

grpc::Status NvpnetService::ReleaseNic(grpc::ServerContext*,
                                       const v1::ReleaseNicRequest* request,
                                       v1::ReleaseNicResponse* response) {
  return Mutate(
      *store_, "ReleaseNic", request->context(), response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SwitchRecord*> sw = FindSwitch(state, id);
        if (!sw.ok()) return sw.status();
        if (request->nic_id().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "network '", id, "': nic_id is empty; name the NIC to release"));
        }
        if ((*sw)->ports.erase(request->nic_id()) == 0) {
          return absl::NotFoundError(absl::StrCat(
              "NIC '", request->nic_id(), "' has no port on network '", id,
              "'; check the NIC id (was it already released?)"));
        }
        return absl::OkStatus();
      });
}

grpc::Status NvpnetService::ApplyIps(grpc::ServerContext*,
                                     const v1::ApplyIpsRequest* request,
                                     v1::ApplyIpsResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, "ApplyIps", context, response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SwitchRecord*> sw = FindUpSwitch(state, id);
        if (!sw.ok()) return sw.status();
        std::map<std::string, PublicIpRecord> ips = (*sw)->ips;
        for (const v1::PublicIp& ip : request->ips()) {
          PITSTOP_RETURN_IF_ERROR(
              ParseIpv4(ip.ip(), absl::StrCat("network '", id, "': public IP"))
                  .status());
          switch (ip.state()) {
            case v1::IP_STATE_ALLOCATED: {
              if (ip.source_nat()) {
                PITSTOP_RETURN_IF_ERROR(RequireL3(context, id, "source NAT"));
              }
              PublicIpRecord& record = ips[ip.ip()];
              record = PublicIpRecord{ip.ip(), ip.cidr(), ip.vlan(),
                                      ip.gateway(), ip.source_nat()};
              break;
            }
            case v1::IP_STATE_RELEASING:
              for (const v1::Rule& rule : (*sw)->rules) {
                for (const std::string& used : PublicIpsOf(rule)) {
                  if (used == ip.ip()) {
                    return absl::FailedPreconditionError(absl::StrCat(
                        "network '", id, "': public IP ", ip.ip(),
                        " is still used by rule '", rule.id(),
                        "'; remove the rule with ApplyRules first"));
                  }
                }
              }
              ips.erase(ip.ip());
              break;
            default:
              return absl::InvalidArgumentError(
                  absl::StrCat("network '", id, "': public IP ", ip.ip(),
                               " has no state; set IP_STATE_ALLOCATED or "
                               "IP_STATE_RELEASING"));
          }
        }
        std::vector<std::string> source_nat;
        for (const auto& [text, record] : ips) {
          if (record.source_nat) source_nat.push_back(text);
        }
        if (source_nat.size() > 1) {
          return absl::InvalidArgumentError(absl::StrCat(
              "network '", id, "' would have several source NAT IPs (",
              absl::StrJoin(source_nat, ", "), "); a network has at most one"));
        }
        (*sw)->ips = std::move(ips);
        return absl::OkStatus();
      });
}

grpc::Status NvpnetService::ApplyRules(grpc::ServerContext*,
                                       const v1::ApplyRulesRequest* request,
                                       v1::ApplyRulesResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, "ApplyRules", context, response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SwitchRecord*> sw = FindUpSwitch(state, id);
        if (!sw.ok()) return sw.status();
        std::vector<v1::Rule> rules;
        std::set<std::string> ids;
        for (const v1::Rule& rule : request->rules()) {
          if (rule.id().empty()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "network '", id, "': a rule has no id; give every rule one"));
          }
          if (!ids.insert(rule.id()).second) {
            return absl::InvalidArgumentError(
                absl::StrCat("network '", id, "': rule id '", rule.id(),
                             "' appears twice in the rule set"));
          }
          if (rule.revoke()) continue;
          PITSTOP_RETURN_IF_ERROR(CheckRule(context, **sw, rule));
          rules.push_back(rule);
        }
        (*sw)->rules = std::move(rules);
        ++(*sw)->rules_generation;
        return absl::OkStatus();
      });
}

grpc::Status NvpnetService::ShutdownNetwork(
    grpc::ServerContext*, const v1::ShutdownNetworkRequest* request,
    v1::ShutdownNetworkResponse* response) {
  return Mutate(
      *store_, "ShutdownNetwork", request->context(), response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SwitchRecord*> sw = FindSwitch(state, id);
        if (!sw.ok()) return sw.status();
        (*sw)->up = false;
        if (request->cleanup()) {
          (*sw)->ports.clear();
          (*sw)->ips.clear();
          (*sw)->rules.clear();
          ++(*sw)->rules_generation;
        }
        return absl::OkStatus();
      });
}

grpc::Status NvpnetService::DestroyNetwork(
    grpc::ServerContext*, const v1::DestroyNetworkRequest* request,
    v1::DestroyNetworkResponse* response) {
  return Mutate(
      *store_, "DestroyNetwork", request->context(), response,
      [&](ControllerState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SwitchRecord*> sw = FindSwitch(state, id);
        if (!sw.ok()) return sw.status();
        if (!(*sw)->ports.empty()) {
          std::vector<std::string> nics;
          for (const auto& [nic_id, port] : (*sw)->ports) {
            nics.push_back(nic_id);
          }
          return absl::FailedPreconditionError(absl::StrCat(
              "network '", id, "' still has NICs attached (",
              absl::StrJoin(nics, ", "),
              "); release them with ReleaseNic, or call ShutdownNetwork with "
              "cleanup, first"));
        }
        state.switches.erase(id);
        return absl::OkStatus();
      });
}

}  // namespace pitstop::nvpnet
