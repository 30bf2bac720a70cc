#ifndef PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_STORE_H_
#define PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_STORE_H_

// The simulated array's state, and its persistence in the driver's state
// directory: the whole array is one text file, `array.state`, kept by the
// SDK's TypedStateFile (atomic replace, flock, re-read on every access).

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pitstop/sdk/operation_log.h"
#include "pitstop/sdk/state_file.h"

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

struct ArrayState {
  std::map<std::string, PoolRecord> pools;
  std::map<std::string, VolumeRecord> volumes;
  std::map<std::string, SnapshotRecord> snapshots;
  sdk::OperationLog operations;
  uint64_t next_vendor_id = 1001;
};

// The state file format: the SDK's records (pitstop/sdk/records.h), one a
// pool, tag, volume, grant and snapshot, plus the operation log.
std::string SerializeArrayState(const ArrayState& state);
// DATA_LOSS naming the line for a malformed file.
absl::StatusOr<ArrayState> ParseArrayState(absl::string_view text);

// Thread-safe; several instances (in several processes) may share a
// directory.
using FlashpoolStore = sdk::TypedStateFile<ArrayState>;

// Opens (creating if needed) the state in `dir`, which must exist, and adds
// the built-in pool "default" if absent. Errors: UNAVAILABLE for I/O errors,
// DATA_LOSS for a corrupt state file.
absl::StatusOr<std::unique_ptr<FlashpoolStore>> OpenFlashpoolStore(
    const std::string& dir);

}  // namespace pitstop::flashpool

#endif  // PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_STORE_H_
