#ifndef PITSTOP_SUPERVISOR_SANDBOX_SECCOMP_FILTER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_SECCOMP_FILTER_H_

// The seccomp filter every sandboxed driver runs under: a deny-list (every
// system call not listed is allowed) whose violations kill the whole process
// (SECCOMP_RET_KILL_PROCESS, seen by the daemon as SIGSYS). Built with
// libseccomp once, before any fork, as a classic BPF program that the child
// installs with seccomp(SECCOMP_SET_MODE_FILTER) between fork and exec.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pitstop {

// The system calls the filter kills on, by name (docs/sandbox.md lists why).
const std::vector<std::string>& DeniedSyscalls();

// The BPF program for this machine's architecture. INTERNAL when libseccomp
// fails (the message names the step).
absl::StatusOr<std::vector<sock_filter>> BuildDriverSeccompFilter();

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_SECCOMP_FILTER_H_
