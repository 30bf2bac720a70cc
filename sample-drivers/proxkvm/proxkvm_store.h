#ifndef PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_STORE_H_
#define PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_STORE_H_

// The simulated cluster's state, and its persistence in the driver's state
// directory.
//
// The whole cluster is one text file, `cluster.state`, replaced atomically
// (temporary file, fsync, rename) on every change, so a crash leaves either
// the old or the new state. Every access takes an flock(2) on
// `cluster.lock` and re-reads the file, so two driver processes sharing the
// directory (old and new version during an upgrade) never lose each other's
// updates.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "pitstop/driver/v1/hypervisor.pb.h"

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

// A completed operation, remembered by operation id so that a retry returns
// the same result instead of applying the operation twice.
struct CompletedOperation {
  std::string method;
  std::string resource_id;
  std::string response;  // The serialized response message.
  uint64_t sequence = 0;
};

struct ClusterState {
  std::map<std::string, HostRecord> hosts;               // By host id.
  std::map<std::string, VmRecord> vms;                   // By VM id.
  std::map<std::string, CompletedOperation> operations;  // By operation id.
  uint64_t next_vmid = 100;
  uint64_t next_operation_sequence = 1;
};

// At most this many completed operations are remembered; the oldest go first.
inline constexpr size_t kMaxRememberedOperations = 4096;

// The state file format: one record a line, tab-separated C-escaped fields;
// VM specs are serialized protocol messages.
std::string SerializeClusterState(const ClusterState& state);
// DATA_LOSS naming the line for a malformed file.
absl::StatusOr<ClusterState> ParseClusterState(absl::string_view text);

// Thread-safe; several instances (in several processes) may share a
// directory.
class ProxkvmStore {
 public:
  // Opens (creating if needed) the state in `dir`, which must exist.
  // Errors: UNAVAILABLE for I/O errors, DATA_LOSS for a corrupt state file.
  static absl::StatusOr<std::unique_ptr<ProxkvmStore>> Open(
      const std::string& dir);
  ~ProxkvmStore();

  ProxkvmStore(const ProxkvmStore&) = delete;
  ProxkvmStore& operator=(const ProxkvmStore&) = delete;

  // Runs `mutate` on the current state. If it returns OK the changed state is
  // persisted before Update returns; otherwise nothing changes and its error
  // is returned. Blocks on disk I/O and on other processes' updates.
  absl::Status Update(absl::FunctionRef<absl::Status(ClusterState&)> mutate)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `read` on the current state and returns its result.
  absl::Status Read(absl::FunctionRef<absl::Status(const ClusterState&)> read)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ProxkvmStore(std::string dir, int lock_fd);
  absl::StatusOr<ClusterState> LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveLocked(const ClusterState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string dir_;
  const std::string state_path_;

  absl::Mutex mu_;
  // The flock(2)ed file; flock is per open file, so threads of this process
  // take mu_ first.
  const int lock_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop::proxkvm

#endif  // PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_STORE_H_
