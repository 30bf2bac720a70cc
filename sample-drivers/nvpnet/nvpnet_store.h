#ifndef PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_STORE_H_
#define PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_STORE_H_

// The simulated SDN controller's state, and its persistence in the driver's
// state directory: the whole state is one text file, `controller.state`, kept
// by the SDK's TypedStateFile (atomic replace, flock, re-read on every access).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/sdk/operation_log.h"
#include "pitstop/sdk/state_file.h"

namespace pitstop::nvpnet {

// A logical switch port: one per prepared NIC.
struct PortRecord {
  std::string nic_id;
  std::string port_id;  // The controller's port UUID.
  std::string mac;      // Lower case.
  std::string ip;       // May be empty.
  std::string vm_id;
  std::string vm_name;
};

// A public IP allocated to the network's logical router.
struct PublicIpRecord {
  std::string ip;
  std::string cidr;
  std::string vlan;
  std::string gateway;
  bool source_nat = false;
};

// A logical switch: one per implemented network.
struct SwitchRecord {
  std::string network_id;
  std::string switch_id;  // The controller's switch UUID.
  std::string cidr;
  std::string gateway;
  std::string broadcast_uri;
  std::string guest_type;
  std::string zone;
  std::string transport_zone;
  bool up = true;                                // False after ShutdownNetwork.
  std::map<std::string, PortRecord> ports;       // By NIC id.
  std::map<std::string, PublicIpRecord> ips;     // By IP.
  std::vector<pitstop::driver::v1::Rule> rules;  // The applied rule set.
  uint64_t rules_generation = 0;                 // Bumped by every ApplyRules.
};

struct ControllerState {
  std::map<std::string, SwitchRecord> switches;  // By network id.
  sdk::OperationLog operations;
};

// The state file format: the SDK's records (pitstop/sdk/records.h); rules are
// serialized protocol messages.
std::string SerializeControllerState(const ControllerState& state);
// DATA_LOSS naming the line for a malformed file.
absl::StatusOr<ControllerState> ParseControllerState(absl::string_view text);

// Thread-safe; several instances (in several processes) may share a
// directory.
using NvpnetStore = sdk::TypedStateFile<ControllerState>;

// Opens (creating if needed) the state in `dir`, which must exist.
// Errors: UNAVAILABLE for I/O errors, DATA_LOSS for a corrupt state file.
absl::StatusOr<std::unique_ptr<NvpnetStore>> OpenNvpnetStore(
    const std::string& dir);

}  // namespace pitstop::nvpnet

#endif  // PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_STORE_H_
