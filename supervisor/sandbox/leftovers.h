#ifndef PITSTOP_SUPERVISOR_SANDBOX_LEFTOVERS_H_
#define PITSTOP_SUPERVISOR_SANDBOX_LEFTOVERS_H_

// Driver processes that an earlier daemon on the same state directory left
// running (it crashed, and a driver outlived its parent-death signal).

#include <sys/types.h>

#include <set>
#include <string>

namespace pitstop {

// Kills every process recorded in <state_dir>/run/<driver>/<instance>/pid
// that still runs a driver: its executable lies under
// <state_dir>/packages, or it is a sandboxed driver (/driver/... in a PID
// namespace of its own). Any other process is left alone, whatever its pid
// file says; pid files that are not regular files of ours are ignored.
// `keep`: pids taken back by this daemon (re-adopted), never killed.
void KillLeftovers(const std::string& state_dir,
                   const std::set<pid_t>& keep = {});

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_LEFTOVERS_H_
