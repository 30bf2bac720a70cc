#ifndef PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_STORE_H_
#define PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_STORE_H_

// The simulated SDN controller's state, and its persistence in the driver's
// state directory.
//
// The whole controller is one text file, `controller.state`, replaced
// atomically (temporary file, fsync, rename) on every change, so a crash
// leaves either the old or the new state. Every access takes an flock(2) on
// `controller.lock` and re-reads the file, so two driver processes sharing
// the directory (old and new version during an upgrade) never lose each
// other's updates.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "pitstop/driver/v1/network.pb.h"

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

// A completed operation, remembered by operation id so that a retry returns
// the same result instead of applying the operation twice.
struct CompletedOperation {
  std::string method;
  std::string resource_id;
  std::string response;  // The serialized response message.
  uint64_t sequence = 0;
};

struct ControllerState {
  std::map<std::string, SwitchRecord> switches;          // By network id.
  std::map<std::string, CompletedOperation> operations;  // By operation id.
  uint64_t next_operation_sequence = 1;
};

// At most this many completed operations are remembered; the oldest go first.
inline constexpr size_t kMaxRememberedOperations = 4096;

// The state file format: one record a line, tab-separated C-escaped fields;
// rules are serialized protocol messages.
std::string SerializeControllerState(const ControllerState& state);
// DATA_LOSS naming the line for a malformed file.
absl::StatusOr<ControllerState> ParseControllerState(absl::string_view text);

// Thread-safe; several instances (in several processes) may share a
// directory.
class NvpnetStore {
 public:
  // Opens (creating if needed) the state in `dir`, which must exist.
  // Errors: UNAVAILABLE for I/O errors, DATA_LOSS for a corrupt state file.
  static absl::StatusOr<std::unique_ptr<NvpnetStore>> Open(
      const std::string& dir);
  ~NvpnetStore();

  NvpnetStore(const NvpnetStore&) = delete;
  NvpnetStore& operator=(const NvpnetStore&) = delete;

  // Runs `mutate` on the current state. If it returns OK the changed state is
  // persisted before Update returns; otherwise nothing changes and its error
  // is returned. Blocks on disk I/O and on other processes' updates.
  absl::Status Update(absl::FunctionRef<absl::Status(ControllerState&)> mutate)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `read` on the current state and returns its result.
  absl::Status Read(
      absl::FunctionRef<absl::Status(const ControllerState&)> read)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  NvpnetStore(std::string dir, int lock_fd);
  absl::StatusOr<ControllerState> LoadLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveLocked(const ControllerState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string dir_;
  const std::string state_path_;

  absl::Mutex mu_;
  // The flock(2)ed file; flock is per open file, so threads of this process
  // take mu_ first.
  const int lock_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop::nvpnet

#endif  // PITSTOP_SAMPLE_DRIVERS_NVPNET_NVPNET_STORE_H_
