#ifndef PITSTOP_SUPERVISOR_SANDBOX_CHILD_PROCESS_MANAGER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_CHILD_PROCESS_MANAGER_H_

// ChildProcessManager: the ProcessLauncher that owns the daemon's children.
// Processes are started with Boost.Process; one monitor thread waits with
// epoll on a pidfd per child (so a signal never reaches a recycled pid) and on
// the children's stdout/stderr pipes, delivers output line by line, then
// reaps each child and reports its exit.
//
// Launch() must be called from a thread that lives as long as the children:
// the kernel's parent-death signal follows the thread that forked.
//
// Thread-safe. The destructor kills (SIGKILL) and reaps every child still
// running, then stops the monitor thread.

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

class ChildProcessManager final : public ProcessLauncher {
 public:
  ChildProcessManager();
  ~ChildProcessManager() override;
  ChildProcessManager(const ChildProcessManager&) = delete;
  ChildProcessManager& operator=(const ChildProcessManager&) = delete;

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec, OutputHandler on_output,
                               ExitHandler on_exit) override;
  absl::Status Signal(pid_t pid, int signal) override;

  // Children launched and not yet reaped.
  size_t LiveChildren();

 private:
  struct Child;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_CHILD_PROCESS_MANAGER_H_
