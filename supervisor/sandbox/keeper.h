#ifndef PITSTOP_SUPERVISOR_SANDBOX_KEEPER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_KEEPER_H_

// The keeper of one sandboxed driver instance: the init of its PID
// namespace, which outlives the daemon (docs/lifecycle.md, "The keeper").
// It forks the driver and then, until the driver has exited and a daemon has
// collected its status:
// - reaps every process of the namespace and forwards signals to the driver;
// - always drains the driver's stdout and stderr, so that the driver never
//   blocks or gets SIGPIPE: the bytes go on to the attached daemon's pipes,
//   and while none reads them the last kKeeperRingBytes of each stream are
//   kept (older bytes are counted and dropped);
// - answers a daemon on its control socket (keeper_protocol.h), bound by
//   the daemon in a root-only directory before the clone, and takes the
//   daemon's new pipes over it.
//
// Runs in the child between clone and the end of the namespace, so like the
// rest of sandbox_child.cc it makes system calls only: no allocation, no
// lock.

#include "supervisor/sandbox/sandbox_child.h"

namespace pitstop {

// Descriptors of the keeper once RunSandboxChild has moved them into
// place: 0 /dev/null, 1 and 2 the daemon's output pipes, 4 the error pipe
// (close-on-exec), 5 the daemon's status pipe, 6 the control socket (bound,
// not listening yet).
inline constexpr int kKeeperStatusFd = 5;
inline constexpr int kKeeperControlFd = 6;

[[noreturn]] void RunKeeper(const ChildPlan& plan);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_KEEPER_H_
