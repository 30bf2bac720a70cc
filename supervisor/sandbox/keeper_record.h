#ifndef PITSTOP_SUPERVISOR_SANDBOX_KEEPER_RECORD_H_
#define PITSTOP_SUPERVISOR_SANDBOX_KEEPER_RECORD_H_

// What a daemon writes down about each keeper it starts, so that the next
// daemon can find the instance and prove it is what the record says
// (docs/lifecycle.md, "Re-adoption"): <keeper_dir>/<driver>.<instance>.rec
// beside the keeper's control socket <driver>.<instance>.sock. The
// directory and the files are root's, mode 0700 and 0600: no driver reaches
// them.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/sandbox/keeper_protocol.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

struct KeeperRecord {
  std::string driver;
  uint64_t instance_id = 0;
  std::string version;
  pid_t keeper_pid = 0;
  pid_t driver_pid = 0;  // as the host sees it
  // The keeper's start time (clock ticks after boot, /proc/PID/stat field
  // 22) and the boot it started in: a recycled pid, or a record from before
  // a reboot, does not match.
  uint64_t start_time = 0;
  std::string boot_id;
  std::string secret_hex;  // kKeeperSecretBytes, hex
  std::string socket;      // the control socket's path
  SandboxReport sandbox;
};

std::string FormatKeeperRecord(const KeeperRecord& record);
// INVALID_ARGUMENT naming `path` and the line for anything malformed.
absl::StatusOr<KeeperRecord> ParseKeeperRecord(const std::string& text,
                                               const std::string& path);

// Writes `record` to `path` (mode 0600, replaced atomically).
absl::Status WriteKeeperRecord(const std::string& path,
                               const KeeperRecord& record);
// Reads `path`: only a regular file of the daemon's own user, mode 0600.
absl::StatusOr<KeeperRecord> ReadKeeperRecord(const std::string& path);

// This boot's id (/proc/sys/kernel/random/boot_id); "" if unreadable.
std::string CurrentBootId();
// Field 22 of /proc/<pid>/stat; 0 when the process is gone.
uint64_t ProcessStartTime(pid_t pid);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_KEEPER_RECORD_H_
