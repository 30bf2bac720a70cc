#ifndef PITSTOP_SUPERVISOR_SANDBOX_SANDBOX_CHILD_H_
#define PITSTOP_SUPERVISOR_SANDBOX_SANDBOX_CHILD_H_

// The code that runs in a new child between clone and exec. Everything it
// needs is prepared beforehand in a ChildPlan (paths, argv, envp, the
// seccomp program), so the child makes system calls only: no allocation, no
// lock, nothing that is not async-signal-safe.
//
// The order in the child (docs/sandbox.md): into its cgroup (v1), stdio
// onto 0-2, every other descriptor closed, own session, the private root
// (pivot_root), rlimits, the unprivileged uid with no capabilities, the
// parent-death signal (a uid change clears it), "R" to the daemon and a wait
// for its answer (on v2 it puts the child into its cgroup first),
// no_new_privs, the seccomp filter, and exec. With a PID namespace the child
// is the namespace's init: it forks the driver, forwards signals to it,
// reaps every process, and outlives the daemon as the instance's keeper
// (keeper.h); the parent-death signal is armed for the driver only.

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pitstop {

struct ChildPlan {
  struct Op {
    enum Kind { kMkdir, kTouch, kSymlink, kMount } kind = kMkdir;
    std::string a;  // kMount: source; kSymlink: target; else the path
    std::string b;  // kMount: target; kSymlink: link path
    std::string fstype;
    std::string data;
    unsigned long flags = 0;
    std::string what;  // for errors: "bind /usr"
  };

  std::string exe;
  std::vector<std::string> argv_storage, envp_storage;
  std::vector<char*> argv, envp;  // point into the storage; null-terminated
  std::string working_dir;

  // Descriptors, opened close-on-exec before clone.
  int null_fd = -1, out_fd = -1, err_fd = -1;
  int sync_fd = -1;    // read: one byte when the child may go on; EOF: abort
  int error_fd = -1;   // write: "R" when ready; on failure "E", errno
                       // (int), a description
  int status_fd = -1;  // write: the driver's wait status (init only)
  // The keeper's control socket, bound, not listening (init only), and the
  // secret it answers a daemon with (keeper_protocol.h).
  int control_fd = -1;
  uint8_t keeper_secret[32] = {};
  // Written "0" first thing: the child enters its cgroup (v1 `tasks`).
  std::vector<int> cgroup_fds;

  bool init = false;  // the child is a PID namespace's init
  std::vector<Op> ops;
  std::string new_root;  // empty: no private root
  std::string hostname;  // empty: unchanged

  bool set_ids = false;
  // Without set_ids: stay root but drop every capability for good
  // (bounding set, securebits NOROOT, capset to nothing).
  bool drop_caps = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int cap_last = 40;  // /proc/sys/kernel/cap_last_cap

  std::vector<std::pair<int, rlimit>> rlimits;
  bool no_new_privs = false;
  sock_fprog seccomp{};  // filter == nullptr: none

  // Fills argv/envp from the storage.
  void Seal();
};

// Descriptor numbers in the child once the plan's are moved into place.
inline constexpr int kChildSyncFd = 3;
inline constexpr int kChildErrorFd = 4;

// In the child: reports `what` and `err` on the error pipe and exits 126.
[[noreturn]] void DieInChild(const char* what, size_t len, int err);
#define PITSTOP_DIE_IN_CHILD(literal) \
  ::pitstop::DieInChild(literal, sizeof(literal) - 1, errno)

// In the child: the driver's exec, with default signal dispositions.
[[noreturn]] void ExecDriver(const ChildPlan& plan);

// Forks like fork(2) (returns 0 in the child), with `flags` (CLONE_NEW*),
// SIGCHLD as exit signal and, when `pidfd` is not null, a pidfd for the
// child: clone3, or clone where clone3 is refused (ENOSYS: older container
// runtimes' seccomp profiles). -1 with errno on failure.
long CloneProcess(uint64_t flags, int* pidfd);

// Runs in the child; never returns.
[[noreturn]] void RunSandboxChild(const ChildPlan& plan);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_SANDBOX_CHILD_H_
