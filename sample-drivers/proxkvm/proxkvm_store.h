#ifndef PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_STORE_H_
#define PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_STORE_H_

// The simulated cluster's state, and its persistence in the driver's state
// directory: the whole state is one text file, `cluster.state`, kept by the
// SDK's TypedStateFile (atomic replace, flock, re-read on every access).

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/sdk/operation_log.h"
#include "pitstop/sdk/state_file.h"

namespace pitstop::proxkvm {

// A node of the cluster, known after ConnectHost.
struct HostRecord {
  std::string id;
  std::string url;
  uint32_t cpus = 0;
  uint32_t cpu_speed_mhz = 0;
  uint64_t memory_bytes = 0;
  std::string version;
};

struct VmRecord {
  std::string id;
  uint64_t vmid = 0;  // The cluster's numeric VM id (100 and up).
  // As prepared, with disk sizes resolved and NICs kept up to date by
  // PlugNic / UnplugNic.
  pitstop::driver::v1::VmSpec spec;
  std::string host;  // Where it runs or last ran; empty before StartVm.
  bool running = false;
  uint64_t boots = 0;  // Starts and reboots.
};

struct ClusterState {
  std::map<std::string, HostRecord> hosts;  // By host id.
  std::map<std::string, VmRecord> vms;      // By VM id.
  sdk::OperationLog operations;
  uint64_t next_vmid = 100;
};

// The state file format: the SDK's records (pitstop/sdk/records.h); VM specs
// are serialized protocol messages.
std::string SerializeClusterState(const ClusterState& state);
// DATA_LOSS naming the line for a malformed file.
absl::StatusOr<ClusterState> ParseClusterState(absl::string_view text);

// Thread-safe; several instances (in several processes) may share a
// directory.
using ProxkvmStore = sdk::TypedStateFile<ClusterState>;

// Opens (creating if needed) the state in `dir`, which must exist.
// Errors: UNAVAILABLE for I/O errors, DATA_LOSS for a corrupt state file.
absl::StatusOr<std::unique_ptr<ProxkvmStore>> OpenProxkvmStore(
    const std::string& dir);

}  // namespace pitstop::proxkvm

#endif  // PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_STORE_H_
