#ifndef PITSTOP_SUPERVISOR_SANDBOX_CHILD_PROCESS_MANAGER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_CHILD_PROCESS_MANAGER_H_

// ChildProcessManager: the ProcessLauncher that owns the daemon's children.
// Each child is created with clone3 (with a pidfd, and for a sandboxed
// driver in new namespaces, see docs/sandbox.md); one monitor thread waits
// with epoll on a pidfd per child (so a signal never reaches a recycled pid)
// and on the children's stdout/stderr pipes, delivers output line by line
// (at most kMaxLinesPerSecond a sandboxed child; the rest is counted and
// dropped),
// then reaps each child and reports its exit, explaining an exit caused by
// the sandbox (memory limit, seccomp).
//
// Launch() must be called from a thread that lives as long as the children:
// the kernel's parent-death signal follows the thread that forked.
//
// Thread-safe. The destructor kills (SIGKILL) and reaps every child still
// running (none after Release), then stops the monitor thread.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/sandbox/host_sandbox.h"
#include "supervisor/sandbox/output_lines.h"
#include "supervisor/sandbox/process_launcher.h"
#include "supervisor/sandbox/sandbox_profile.h"

namespace pitstop {

struct SandboxOptions {
  SandboxMode mode = SandboxMode::kBestEffort;
  // An empty directory to mount each private root on (inside the child's
  // own mount namespace). Created if missing. Empty: no sandbox at all is
  // attempted beyond what needs no directory.
  std::string scratch_dir;
  // Drivers run as uid = gid = uid_base + a stable index in [0, uid_count),
  // derived from the driver's name (distinct for every driver launched).
  uint32_t uid_base = 61000;
  uint32_t uid_count = 1000;
  // Where keepers' control sockets and records go (keeper_client.h): a
  // directory only the daemon's user may enter. Empty: keepers cannot be
  // re-adopted (they still outlive the daemon).
  std::string keeper_dir;
};

class ChildProcessManager final : public ProcessLauncher {
 public:
  static constexpr int kMaxLinesPerSecond = OutputLines::kMaxLinesPerSecond;

  // Detects what the host allows (DetectHostSandboxSupport) once.
  explicit ChildProcessManager(SandboxOptions options = {});
  ~ChildProcessManager() override;
  ChildProcessManager(const ChildProcessManager&) = delete;
  ChildProcessManager& operator=(const ChildProcessManager&) = delete;

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec, OutputHandler on_output,
                               ExitHandler on_exit) override;
  std::vector<Survivor> FindSurvivors() override;
  absl::Status Adopt(pid_t pid, OutputHandler on_output,
                     ExitHandler on_exit) override;
  absl::Status Signal(pid_t pid, int signal) override;
  SandboxReport Protections(pid_t pid) override;

  // Lets go of every child without signalling it, for a hand-over to the
  // next daemon (docs/lifecycle.md): closes its pipes and pidfd, and stops
  // the monitor thread. A driver with a keeper runs on (its keeper keeps
  // what it writes until the next daemon attaches); one without (no PID
  // namespace on this host) gets its parent-death signal when the daemon
  // exits. Nothing but the destructor may follow.
  void Release();

  const HostSandboxSupport& host() const;
  // Children launched and not yet reaped.
  size_t LiveChildren();

 private:
  struct Child;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_CHILD_PROCESS_MANAGER_H_
