#ifndef PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_SERVICE_H_
#define PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_SERVICE_H_

// Nvpnet: a sample network driver simulating an NVP-like SDN controller. Each
// implemented network is a logical switch in the driver's transport zone,
// each prepared NIC a port on it; public IPs and the rule set (port
// forwarding, static NAT, firewall, load balancing) live on the network's
// logical router. The controller is simulated in the driver's state
// directory (see nvpnet_store.h), so it survives restarts.
//
// Rules every operation follows:
//   - Every operation but GetCapabilities needs the properties
//     controller_address, username, password and transport_zone as
//     non-empty strings (INVALID_ARGUMENT naming the missing one otherwise);
//     l3_gateway_service is optional. The password is never logged.
//   - Every operation but GetCapabilities is keyed on a network:
//     context.resource.type must be "network" and its id non-empty, else
//     INVALID_ARGUMENT.
//   - Idempotency: a mutating operation that succeeded with an operation id
//     is remembered (the last 4096); the same operation id again returns the
//     first result without applying anything. Reusing an operation id for
//     another method or network is INVALID_ARGUMENT. Failed operations are
//     not remembered, so a retry tries again.
//   - Errors name the network, NIC, IP or rule, and say what to do.
//
// Per operation:
//   GetCapabilities  Connectivity and Firewall always; SourceNat, StaticNat,
//                    PortForwarding and Lb only when l3_gateway_service is
//                    set (they need the controller's L3 gateway).
//   VerifyServices   supported = every listed service is one GetCapabilities
//                    reports for this bag; otherwise a reason naming the
//                    others. Changes nothing.
//   ImplementNetwork creates the network's logical switch. cidr is an IPv4
//                    CIDR (required); gateway, if set, an address inside
//                    it; broadcast_uri empty, "lswitch://..." or
//                    "vlan://<1-4094>"; guest_type Isolated (the default
//                    when empty), Shared or L2. Implementing an implemented
//                    or shut down network with the same cidr brings it up;
//                    another cidr is FAILED_PRECONDITION. Details: switch_id,
//                    transport_zone, controller, broadcast_uri
//                    ("lswitch://<switch_id>").
//   PrepareNic       network must exist (NOT_FOUND) and be up
//                    (FAILED_PRECONDITION); nic.id and a MAC
//                    (xx:xx:xx:xx:xx:xx) required; an IP, if set, inside the
//                    cidr. The same NIC again with the same MAC and IP
//                    returns its port; another MAC or IP, or a MAC or IP
//                    used by another NIC, is FAILED_PRECONDITION. Returns
//                    the port id.
//   ReleaseNic       removes the NIC's port; NOT_FOUND for an unknown
//                    network or NIC.
//   ApplyIps         network must exist and be up. ALLOCATED IPs are added
//                    (or updated), RELEASING ones removed (releasing an
//                    unknown IP succeeds); an IP with no state, or a bad
//                    address, is INVALID_ARGUMENT. Source NAT needs
//                    l3_gateway_service and at most one source NAT IP;
//                    releasing an IP that rules still use is
//                    FAILED_PRECONDITION.
//   ApplyRules       replaces the network's rule set wholesale with the
//                    rules given (revoked ones are dropped). Each rule needs
//                    a unique id and a kind; public IPs must be allocated on
//                    the network (ApplyIps first), private and backend IPs
//                    inside the cidr, ports 1-65535 with start <= end,
//                    protocols tcp/udp (firewall also icmp and all), LB
//                    algorithms roundrobin/leastconn/source. Anything but
//                    firewall rules needs l3_gateway_service. On any error
//                    nothing changes.
//   ShutdownNetwork  takes the switch down; cleanup also removes its ports,
//                    public IPs and rules. NOT_FOUND for an unknown network;
//                    shutting down twice succeeds.
//   DestroyNetwork   deletes the switch; NOT_FOUND for an unknown network,
//                    FAILED_PRECONDITION while NICs are attached (release
//                    them, or shut down with cleanup, first).
//
// Thread-safe: calls may run concurrently; the store serializes changes.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nvpnet_store.h"
#include "pitstop/driver/v1/network.grpc.pb.h"

namespace pitstop::nvpnet {

class NvpnetService final
    : public pitstop::driver::v1::NetworkService::Service {
 public:
  // Opens the simulated controller kept in `state_dir` (which must exist).
  // Errors as OpenNvpnetStore.
  static absl::StatusOr<std::unique_ptr<NvpnetService>> Create(
      const std::string& state_dir);

  grpc::Status GetCapabilities(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetNetworkCapabilitiesRequest* request,
      pitstop::driver::v1::GetNetworkCapabilitiesResponse* response) override;
  grpc::Status VerifyServices(
      grpc::ServerContext* context,
      const pitstop::driver::v1::VerifyServicesRequest* request,
      pitstop::driver::v1::VerifyServicesResponse* response) override;
  grpc::Status ImplementNetwork(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ImplementNetworkRequest* request,
      pitstop::driver::v1::ImplementNetworkResponse* response) override;
  grpc::Status PrepareNic(
      grpc::ServerContext* context,
      const pitstop::driver::v1::PrepareNicRequest* request,
      pitstop::driver::v1::PrepareNicResponse* response) override;
  grpc::Status ReleaseNic(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ReleaseNicRequest* request,
      pitstop::driver::v1::ReleaseNicResponse* response) override;
  grpc::Status ApplyIps(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ApplyIpsRequest* request,
      pitstop::driver::v1::ApplyIpsResponse* response) override;
  grpc::Status ApplyRules(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ApplyRulesRequest* request,
      pitstop::driver::v1::ApplyRulesResponse* response) override;
  grpc::Status ShutdownNetwork(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ShutdownNetworkRequest* request,
      pitstop::driver::v1::ShutdownNetworkResponse* response) override;
  grpc::Status DestroyNetwork(
      grpc::ServerContext* context,
      const pitstop::driver::v1::DestroyNetworkRequest* request,
      pitstop::driver::v1::DestroyNetworkResponse* response) override;

 private:
  explicit NvpnetService(std::unique_ptr<NvpnetStore> store);

  // Constant after construction.
  const std::unique_ptr<NvpnetStore> store_;
};

}  // namespace pitstop::nvpnet

#endif  // PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_SERVICE_H_
