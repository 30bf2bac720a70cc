#include "supervisor/sandbox/child_launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/logging.h"

namespace pitstop {
namespace {

void CloseIf(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace

pid_t DriverPidOf(pid_t keeper) {
  std::ifstream kids(
      absl::StrCat("/proc/", keeper, "/task/", keeper, "/children"));
  pid_t driver_pid = 0;
  if (kids >> driver_pid && driver_pid > 0) return driver_pid;
  return keeper;
}

absl::StatusOr<StartedChild> StartChild(ChildPlan& plan, uint64_t clone_flags,
                                        const InstanceCgroup& cgroup,
                                        const std::string& executable,
                                        const std::string& driver,
                                        absl::Time t_start) {
  auto close_cgroup_fds = [&plan] {
    for (int& fd : plan.cgroup_fds) CloseIf(fd);
  };
  int out[2] = {-1, -1}, err[2] = {-1, -1}, sync[2] = {-1, -1},
      error[2] = {-1, -1}, status[2] = {-1, -1};
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  bool ok = null_fd >= 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
            ::pipe2(err, O_CLOEXEC) == 0 && ::pipe2(sync, O_CLOEXEC) == 0 &&
            ::pipe2(error, O_CLOEXEC) == 0 &&
            (!plan.init || ::pipe2(status, O_CLOEXEC) == 0);
  auto close_all = [&] {
    for (int* fd :
         {&null_fd, &out[0], &out[1], &err[0], &err[1], &sync[0], &sync[1],
          &error[0], &error[1], &status[0], &status[1], &plan.control_fd})
      CloseIf(*fd);
    close_cgroup_fds();
  };
  if (!ok) {
    const std::string why = std::strerror(errno);
    close_all();
    return absl::InternalError(
        absl::StrCat("cannot start ", executable, ": pipes: ", why));
  }
  plan.null_fd = null_fd;
  plan.out_fd = out[1];
  plan.err_fd = err[1];
  plan.sync_fd = sync[0];
  plan.error_fd = error[1];
  plan.status_fd = status[1];

  const absl::Time t_clone = absl::Now();
  int pidfd = -1;
  const long pid = CloneProcess(clone_flags, &pidfd);
  // Nothing may run in the child before this: it is a copy of one thread
  // of a multi-threaded process, and any lock another thread held at the
  // clone (absl::Now's, malloc's) stays held in it forever.
  if (pid == 0) RunSandboxChild(plan);
  const absl::Time t_cloned = absl::Now();
  const int clone_errno = errno;
  for (int* fd : {&null_fd, &out[1], &err[1], &sync[0], &error[1], &status[1],
                  &plan.control_fd})
    CloseIf(*fd);
  close_cgroup_fds();
  if (pid < 0) {
    close_all();
    return absl::InternalError(absl::StrCat(
        "cannot start ", executable, ": clone: ", std::strerror(clone_errno)));
  }
  auto abort_child = [&](absl::Status why) {
    PidfdSendSignal(pidfd, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PIDFD, pidfd, &info, WEXITED);
    close_all();
    CloseIf(pidfd);
    return why;
  };
  // On v1 the child entered the group itself (OpenSelfEntry).
  if (!cgroup.empty() && plan.cgroup_fds.empty()) {
    if (absl::Status s = cgroup.AddProcess(static_cast<pid_t>(pid)); !s.ok()) {
      return abort_child(absl::UnavailableError(absl::StrCat(
          "driver ", driver, ": cannot enter its cgroup: ", s.message())));
    }
  }
  // The child reports "R" once set up (or "E..." on failure); it goes on
  // when told, then until exec (or a failure before it).
  std::string report;
  char buf[512];
  bool told = false;
  absl::Time t_ready = absl::Now();
  while (true) {
    if (!told && !report.empty()) {
      if (report[0] == 'R') {
        t_ready = absl::Now();
        report.erase(0, 1);
        const char go = 'g';
        [[maybe_unused]] ssize_t w = ::write(sync[1], &go, 1);
      }
      CloseIf(sync[1]);
      told = true;
    }
    ssize_t n = ::read(error[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  CloseIf(sync[1]);
  CloseIf(error[0]);
  if (!report.empty() && report[0] == 'E') {
    const std::string failure = report.substr(1);
    int child_errno = 0;
    if (failure.size() >= sizeof child_errno)
      std::memcpy(&child_errno, failure.data(), sizeof child_errno);
    const std::string what = failure.substr(sizeof child_errno);
    absl::StatusCode code = absl::StatusCode::kInternal;
    if (child_errno == ENOENT) code = absl::StatusCode::kNotFound;
    if (child_errno == EACCES) code = absl::StatusCode::kPermissionDenied;
    const std::string exec_what = plan.exe;
    return abort_child(absl::Status(
        code, absl::StrCat("cannot start ", executable,
                           what == exec_what ? "" : absl::StrCat(": ", what),
                           ": ", std::strerror(child_errno))));
  }
  if (!driver.empty()) {
    const absl::Time t_exec = absl::Now();
    Log(LogLevel::kDebug, "sandbox", "driver launched",
        {{"driver", driver},
         {"prepare_ms",
          absl::StrCat(absl::ToDoubleMilliseconds(t_clone - t_start))},
         {"clone_ms",
          absl::StrCat(absl::ToDoubleMilliseconds(t_cloned - t_clone))},
         {"setup_ms",
          absl::StrCat(absl::ToDoubleMilliseconds(t_ready - t_cloned))},
         {"exec_ms",
          absl::StrCat(absl::ToDoubleMilliseconds(t_exec - t_ready))}});
  }
  StartedChild started;
  started.pid = static_cast<pid_t>(pid);
  started.pidfd = pidfd;
  started.out_fd = out[0];
  started.err_fd = err[0];
  started.status_fd = status[0];
  for (int fd : {started.out_fd, started.err_fd, started.status_fd}) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  CloseIf(plan.control_fd);
  return started;
}

}  // namespace pitstop
