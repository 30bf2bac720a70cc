#ifndef PITSTOP_SUPERVISOR_SANDBOX_CGROUP_H_
#define PITSTOP_SUPERVISOR_SANDBOX_CGROUP_H_

// Memory and pids limits for one driver instance through cgroups: v2 where
// the host has the unified hierarchy with both controllers, v1 (the memory
// and pids hierarchies) otherwise. Each instance has its own group,
// pitstop/<driver>/<daemon pid>-<instance-id>, so two versions of one driver
// running side by side are limited separately.
//
// Not thread-safe; the owner serializes calls.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pitstop {

enum class CgroupVersion { kNone, kV1, kV2 };

struct CgroupSupport {
  CgroupVersion version = CgroupVersion::kNone;
  // v2: the one "pitstop" group; v1: the memory and pids "pitstop" groups.
  std::vector<std::string> roots;
  std::string why_not;  // when kNone: what is missing
};

// Finds the hierarchy and creates the "pitstop" parent groups (enabling the
// memory and pids controllers below them on v2). `cgroup_fs` is the cgroup
// mount point, /sys/fs/cgroup except in tests.
CgroupSupport DetectCgroups(const std::string& cgroup_fs = "/sys/fs/cgroup");

// Removes the empty groups of daemons that no longer run (their leaf's pid
// is gone), e.g. after a crash.
void RemoveStaleCgroups(const CgroupSupport& support);

class InstanceCgroup {
 public:
  // Creates pitstop/<driver>/<leaf> with the limits (0: unlimited). The
  // leaf is "<daemon pid>-<instance id>": daemons on one host (tests, side
  // by side) never share a group.
  // UNAVAILABLE naming the file when a group or limit cannot be written.
  static absl::StatusOr<InstanceCgroup> Create(const CgroupSupport& support,
                                               const std::string& driver,
                                               const std::string& leaf,
                                               uint64_t memory_bytes,
                                               uint32_t pids);
  InstanceCgroup() = default;

  // Moves a process (and so its future children) into the group.
  absl::Status AddProcess(pid_t pid) const;
  // v1: descriptors (close-on-exec) of the group's `tasks` files. A
  // single-threaded child that writes "0" to each enters the group itself,
  // which skips the global lock a write of another process's pid takes (its
  // first taker waits for an RCU grace period, ~10 ms). Empty on v2, where
  // the daemon calls AddProcess. UNAVAILABLE naming the file on failure.
  absl::StatusOr<std::vector<int>> OpenSelfEntry() const;
  // The kernel's OOM killer has killed a process of the group.
  bool OomKilled() const;
  // Removes the group; false while processes still hold it (try later).
  bool Remove();
  // "v1 pitstop/flashpool/1234-3".
  std::string Describe() const;
  bool empty() const { return dirs_.empty(); }

 private:
  CgroupVersion version_ = CgroupVersion::kNone;
  std::string name_;
  std::vector<std::string> dirs_;  // v2: one; v1: memory, then pids
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_CGROUP_H_
