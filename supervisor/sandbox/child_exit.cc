#include "supervisor/sandbox/child_exit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "supervisor/sandbox/seccomp_filter.h"

namespace pitstop {

ExitInfo CollectExit(int pidfd, int status_fd, const InstanceCgroup& cgroup,
                     const SandboxReport& report, pid_t pid) {
  siginfo_t info{};
  bool waited = false;
  while (!(waited = ::waitid(P_PIDFD, pidfd, &info, WEXITED) == 0) &&
         errno == EINTR) {
  }
  // Not ours to wait for (adopted): its keeper's report below, if any.
  ExitInfo exit(0, SIGKILL, false, "its keeper ended without a report");
  if (waited && info.si_code == CLD_EXITED) {
    exit = ExitInfo(info.si_status);
  } else if (waited) {
    exit = ExitInfo(0, info.si_status, info.si_code == CLD_DUMPED);
  }
  // The sandbox's keeper reports how the driver itself ended.
  int driver_status = 0;
  if (status_fd >= 0 && ::read(status_fd, &driver_status,
                               sizeof driver_status) == sizeof driver_status) {
    exit = WIFSIGNALED(driver_status)
               ? ExitInfo(0, WTERMSIG(driver_status), WCOREDUMP(driver_status))
               : ExitInfo(WEXITSTATUS(driver_status));
  }
  if (exit.signal == SIGKILL && cgroup.OomKilled()) {
    exit.cause = absl::StrCat("exceeded memory limit ",
                              report.memory_limit_bytes / (1024 * 1024),
                              " MiB (killed by the kernel's OOM killer)");
  } else if (exit.signal == SIGSYS && report.seccomp) {
    const std::string call = SeccompKilledSyscall(pid);
    exit.cause =
        call.empty()
            ? "killed by seccomp (SIGSYS): a forbidden system call "
              "(see docs/sandbox.md for the list)"
            : absl::StrCat("killed by seccomp (SIGSYS): forbidden system call ",
                           call);
  }
  return exit;
}

}  // namespace pitstop
