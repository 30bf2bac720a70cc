#ifndef PITSTOP_SUPERVISOR_SANDBOX_SECCOMP_FILTER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_SECCOMP_FILTER_H_

// The seccomp filter every sandboxed driver runs under: a deny-list (every
// system call not listed is allowed) whose violations kill the whole process
// (SECCOMP_RET_KILL_PROCESS, seen by the daemon as SIGSYS). Built with
// libseccomp once, before any fork, as a classic BPF program that the child
// installs with seccomp(SECCOMP_SET_MODE_FILTER) between fork and exec.

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pitstop {

// The system calls the filter kills on, by name (docs/sandbox.md lists why).
const std::vector<std::string>& DeniedSyscalls();

// The BPF program for this machine's architecture. INTERNAL when libseccomp
// fails (the message names the step).
absl::StatusOr<std::vector<sock_filter>> BuildDriverSeccompFilter();

// The system call that got process `pid` (as the host sees it) killed by a
// seccomp filter, e.g. "mount", from the kernel's audit record in /dev/kmsg
// ("type=1326 ... pid=PID ... sig=31 arch=... syscall=N"). Empty when the
// record cannot be read (no CAP_SYSLOG, rate-limited, rotated out).
std::string SeccompKilledSyscall(pid_t pid);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_SECCOMP_FILTER_H_
