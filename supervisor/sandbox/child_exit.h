#ifndef PITSTOP_SUPERVISOR_SANDBOX_CHILD_EXIT_H_
#define PITSTOP_SUPERVISOR_SANDBOX_CHILD_EXIT_H_

#include <sys/types.h>

#include "supervisor/sandbox/cgroup.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

// How a child that has ended ended: its wait status when it is the
// daemon's to wait for (through `pidfd`); what its keeper reported of the
// driver itself on `status_fd` when there is one (an adopted child's only
// report); and why, when the sandbox ended it (the memory limit of
// `cgroup`, seccomp). Blocks only for the wait of an ended child.
ExitInfo CollectExit(int pidfd, int status_fd, const InstanceCgroup& cgroup,
                     const SandboxReport& report, pid_t pid);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_CHILD_EXIT_H_
