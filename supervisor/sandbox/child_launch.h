#ifndef PITSTOP_SUPERVISOR_SANDBOX_CHILD_LAUNCH_H_
#define PITSTOP_SUPERVISOR_SANDBOX_CHILD_LAUNCH_H_

// Starting one child from a ChildPlan: its pipes, the clone, the cgroup
// (v2), the "ready"/"go" exchange and the report of an exec failure. Used by
// ChildProcessManager, which owns what comes back.

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/sandbox/cgroup.h"
#include "supervisor/sandbox/sandbox_child.h"

namespace pitstop {

// The child, and the read ends of its stdout, stderr and (with a keeper)
// status pipes, non-blocking, close-on-exec.
struct StartedChild {
  pid_t pid = 0;  // the direct child (the keeper, with a PID namespace)
  int pidfd = -1;
  int out_fd = -1;
  int err_fd = -1;
  int status_fd = -1;
};

// Clones a child running `plan` (sealed) with `clone_flags`, and returns
// once it has exec'd (or its keeper has forked the driver, which then
// exec'd). `plan`'s cgroup descriptors are closed here; on v2 the child is
// moved into `cgroup` before it goes on. Errors name `executable` (and
// `driver` when not empty); the child is gone then. Must be called with no
// other child between clone and exec (the caller serializes).
absl::StatusOr<StartedChild> StartChild(ChildPlan& plan, uint64_t clone_flags,
                                        const InstanceCgroup& cgroup,
                                        const std::string& executable,
                                        const std::string& driver,
                                        absl::Time t_start);

// The driver's pid when `keeper` is a PID namespace's init (its only child
// then), else `keeper`.
pid_t DriverPidOf(pid_t keeper);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_CHILD_LAUNCH_H_
