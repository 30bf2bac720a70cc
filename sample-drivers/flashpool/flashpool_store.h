#ifndef PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_STORE_H_
#define PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_STORE_H_

// The simulated array's state, and its persistence in the driver's state
// directory.
//
// The whole array is one text file, `array.state`, replaced atomically
// (temporary file, fsync, rename, fsync of the directory) on every change,
// so a crash leaves either the old or the new state. Every access takes an
// flock(2) on `array.lock` and re-reads the file: two driver processes
// sharing a state directory (old and new version side by side during an
// upgrade) never lose each other's updates.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pitstop::flashpool {

// The id of the pool a volume lands in when CreateVolume names none.
inline constexpr char kDefaultPoolId[] = "default";
inline constexpr uint64_t kDefaultPoolCapacityBytes = uint64_t{10} << 40;

struct PoolRecord {
  std::string id;
  std::string name;
  std::string url;
  std::string zone;
  uint64_t capacity_bytes = 0;
  uint64_t capacity_iops = 0;  // 0: no IOPS limit.
  std::vector<std::string> tags;
  bool maintenance = false;
  std::string scope;  // "" until AttachPool: "cluster", "zone" or "host".
  std::string scope_id;
  std::string hypervisor;
};

struct VolumeRecord {
  std::string id;
  std::string pool_id;
  std::string name;
  uint64_t vendor_id = 0;
  uint64_t size_bytes = 0;
  uint64_t min_iops = 0;
  uint64_t max_iops = 0;
  uint64_t burst_iops = 0;
  std::string source_snapshot_id;                        // Set for clones.
  std::set<std::pair<std::string, std::string>> grants;  // (host, initiator)
};

struct SnapshotRecord {
  std::string id;
  std::string volume_id;
  std::string pool_id;
  std::string name;
  uint64_t vendor_id = 0;
  uint64_t size_bytes = 0;  // The volume's size when taken.
};

// A completed operation, remembered by operation id so a retry returns the
// same result instead of applying the operation twice.
struct CompletedOperation {
  std::string method;
  std::string resource_id;
  std::string response;  // The serialized response message.
  uint64_t sequence = 0;
};

struct ArrayState {
  std::map<std::string, PoolRecord> pools;
  std::map<std::string, VolumeRecord> volumes;
  std::map<std::string, SnapshotRecord> snapshots;
  std::map<std::string, CompletedOperation> operations;  // By operation id.
  uint64_t next_vendor_id = 1001;
  uint64_t next_operation_sequence = 1;
};

// At most this many completed operations are remembered; the oldest go first.
inline constexpr size_t kMaxRememberedOperations = 4096;

// The state file format: one record a line, fields separated by tabs, each
// field C-escaped (so tabs and newlines inside values are safe).
std::string SerializeArrayState(const ArrayState& state);
// DATA_LOSS naming the line for a malformed file.
absl::StatusOr<ArrayState> ParseArrayState(absl::string_view text);

// Thread-safe; several instances (in several processes) may share a
// directory.
class FlashpoolStore {
 public:
  // Opens (creating if needed) the state in `dir`, which must exist. Adds the
  // built-in pool "default" if absent. Errors: UNAVAILABLE for I/O errors,
  // DATA_LOSS for a corrupt state file.
  static absl::StatusOr<std::unique_ptr<FlashpoolStore>> Open(
      const std::string& dir);
  ~FlashpoolStore();

  // Runs `mutate` on the current state. If it returns OK the changed state is
  // persisted before Update returns; otherwise nothing changes and its error
  // is returned. Blocks on disk I/O and on other processes' updates.
  absl::Status Update(absl::FunctionRef<absl::Status(ArrayState&)> mutate)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `read` on the current state.
  absl::Status Read(absl::FunctionRef<void(const ArrayState&)> read)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  FlashpoolStore(std::string dir, int lock_fd);
  absl::StatusOr<ArrayState> LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveLocked(const ArrayState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string dir_;
  const std::string state_path_;

  absl::Mutex mu_;
  // The flock(2)ed file; flock is per open file, so threads of this process
  // take mu_ first.
  const int lock_fd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop::flashpool

#endif  // PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_STORE_H_
