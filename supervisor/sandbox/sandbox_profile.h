#ifndef PITSTOP_SUPERVISOR_SANDBOX_SANDBOX_PROFILE_H_
#define PITSTOP_SUPERVISOR_SANDBOX_SANDBOX_PROFILE_H_

// The sandbox profile of one driver instance (docs/sandbox.md): from its
// LaunchSpec and what the host allows, the ChildPlan the child carries out
// between clone and exec (namespaces, the private root's mounts, uid,
// capabilities, rlimits, seccomp), the report of the protections in force and
// the gaps, and the instance's cgroup with its limits. Also prepares the host
// side: the data and socket directories are given to the driver's uid.

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "supervisor/sandbox/cgroup.h"
#include "supervisor/sandbox/host_sandbox.h"
#include "supervisor/sandbox/process_launcher.h"
#include "supervisor/sandbox/sandbox_child.h"

namespace pitstop {

enum class SandboxMode {
  // A driver whose protections cannot all be applied is refused.
  kStrict,
  // It runs; the gaps are reported (Protections) and logged.
  kBestEffort,
};

// What the launcher knows beyond the LaunchSpec. Not owned.
struct SandboxContext {
  SandboxMode mode = SandboxMode::kBestEffort;
  const HostSandboxSupport* host = nullptr;
  // An empty directory to mount each private root on.
  std::string root_mount;
  const std::vector<sock_filter>* seccomp = nullptr;  // empty: none
  int cap_last = 40;  // /proc/sys/kernel/cap_last_cap
  uint32_t uid = 0;   // the driver's dedicated uid and gid
};

struct PlannedSandbox {
  ChildPlan plan;  // not sealed: the caller seals it
  uint64_t clone_flags = 0;
  SandboxReport report;
  InstanceCgroup cgroup;  // empty when none; the caller removes it
};

// Fills `out` for spec.sandbox. FAILED_PRECONDITION naming the driver and
// every missing protection when the mode is strict and something is
// missing; `out.cgroup` may then hold a group to remove.
absl::Status PlanSandbox(const LaunchSpec& spec, const SandboxContext& ctx,
                         PlannedSandbox& out);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_SANDBOX_PROFILE_H_
