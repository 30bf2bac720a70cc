#ifndef PITSTOP_SUPERVISOR_SANDBOX_HOST_SANDBOX_H_
#define PITSTOP_SUPERVISOR_SANDBOX_HOST_SANDBOX_H_

// What this host lets the daemon apply to its drivers: it runs as root or
// not, whether a child can get new mount, PID, network, IPC and UTS
// namespaces with a private root (a container often forbids it), cgroups
// (v2, v1 or none), and seccomp. Detected once, at start-up, by trying: a
// probe child is cloned into the namespaces and mounts a tmpfs and /proc.

#include <string>
#include <vector>

#include "supervisor/sandbox/cgroup.h"

namespace pitstop {

struct HostSandboxSupport {
  bool root = false;
  bool namespaces = false;  // mnt, pid, net, ipc and uts, and pivot_root
  std::string namespaces_why_not;
  bool user_namespaces = false;  // detected and reported; not used
  CgroupSupport cgroups;
  bool seccomp = false;  // filters with SECCOMP_RET_KILL_PROCESS
  std::string seccomp_why_not;
  bool capabilities_empty = false;  // the daemon itself has none

  // One line for the daemon's log: "root, namespaces, cgroup v1, seccomp".
  std::string Summary() const;
  // Every protection that cannot be applied, and why.
  std::vector<std::string> Gaps() const;
};

// `scratch_dir` is an existing directory the probe child mounts a tmpfs on
// (in its own mount namespace, so nothing changes outside); empty: neither
// namespaces nor cgroups are probed (a launcher of plain children).
HostSandboxSupport DetectHostSandboxSupport(const std::string& scratch_dir);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_HOST_SANDBOX_H_
