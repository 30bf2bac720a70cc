#include "supervisor/sandbox/sandbox_child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/sandbox/keeper.h"

namespace pitstop {

long CloneProcess(uint64_t flags, int* pidfd) {
  clone_args args{};
  args.flags = flags | (pidfd != nullptr ? CLONE_PIDFD : 0);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0 || errno != ENOSYS) return pid;
  // clone(2) returns the pidfd through its parent_tid argument.
  return ::syscall(SYS_clone,
                   flags | SIGCHLD | (pidfd != nullptr ? CLONE_PIDFD : 0),
                   nullptr, pidfd, nullptr, nullptr);
}

void ChildPlan::Seal() {
  argv.clear();
  envp.clear();
  for (std::string& s : argv_storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (std::string& s : envp_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
}

namespace {

constexpr int kSyncFd = kChildSyncFd;
constexpr int kErrorFd = kChildErrorFd;

// The C library's wrappers for set*id and setgroups signal every thread the
// library knows about; the child has only one, so the raw calls are used.
long RawSetIds(uid_t uid, gid_t gid) {
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) return -1;
  if (::syscall(SYS_setresgid, gid, gid, gid) != 0) return -1;
  if (::syscall(SYS_setresuid, uid, uid, uid) != 0) return -1;
  // (uid_t)-1 means "unchanged" to setresuid: never trust that the switch
  // happened, and never continue as root.
  uid_t r = 0, e = 0, saved = 0;
  if (::syscall(SYS_getresuid, &r, &e, &saved) != 0 || r != uid || e != uid ||
      saved != uid || uid == 0) {
    errno = EPERM;
    return -1;
  }
  return 0;
}

void WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    size -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Die(const std::string& what, int err) {
  DieInChild(what.data(), what.size(), err);
}

#define PITSTOP_DIE(literal) DieInChild(literal, sizeof(literal) - 1, errno)

void RunOp(const ChildPlan::Op& op) {
  int rc = 0;
  switch (op.kind) {
    case ChildPlan::Op::kMkdir:
      rc = ::mkdir(op.a.c_str(), 0755);
      if (rc != 0 && errno == EEXIST) rc = 0;
      break;
    case ChildPlan::Op::kTouch: {
      int fd = ::open(op.a.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      rc = fd < 0 ? -1 : ::close(fd);
      break;
    }
    case ChildPlan::Op::kSymlink:
      rc = ::symlink(op.a.c_str(), op.b.c_str());
      break;
    case ChildPlan::Op::kMount:
      rc = ::mount(op.a.empty() ? nullptr : op.a.c_str(), op.b.c_str(),
                   op.fstype.empty() ? nullptr : op.fstype.c_str(), op.flags,
                   op.data.empty() ? nullptr : op.data.c_str());
      break;
  }
  if (rc != 0) Die(op.what, errno);
}

void SetDefaultSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

void DieInChild(const char* what, size_t len, int err) {
  WriteAll(kErrorFd, "E", 1);
  WriteAll(kErrorFd, &err, sizeof err);
  WriteAll(kErrorFd, what, len);
  ::_exit(126);
}

void ExecDriver(const ChildPlan& plan) {
  SetDefaultSignals();
  ::execve(plan.exe.c_str(), plan.argv.data(), plan.envp.data());
  Die(plan.exe, errno);
}

namespace {

// Everything the child keeps goes to fixed numbers; the rest is closed.
void MoveDescriptors(const ChildPlan& plan) {
  constexpr int kKept = 7;
  const int from[kKept] = {plan.null_fd,   plan.out_fd,   plan.err_fd,
                           plan.sync_fd,   plan.error_fd, plan.status_fd,
                           plan.control_fd};
  int moved[kKept];
  for (int i = 0; i < kKept; ++i) {
    moved[i] = from[i] < 0 ? -1 : ::fcntl(from[i], F_DUPFD, 10);
  }
  for (int i = 0; i < kKept; ++i) {
    if (moved[i] >= 0) {
      ::dup2(moved[i], i);
    } else {
      ::close(i);
    }
  }
  if (::syscall(SYS_close_range, kKept, ~0U, 0) != 0) {
    for (int fd = kKept; fd < 65536; ++fd) ::close(fd);
  }
  // None of these reaches the driver (the error pipe closes at its exec).
  for (int fd : {kErrorFd, kKeeperStatusFd, kKeeperControlFd}) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

void EnterPrivateRoot(const ChildPlan& plan) {
  for (const ChildPlan::Op& op : plan.ops) RunOp(op);
  if (plan.new_root.empty()) return;
  if (::chdir(plan.new_root.c_str()) != 0) PITSTOP_DIE("chdir to the new root");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) PITSTOP_DIE("pivot_root");
  // The old root is stacked under the new one: detach it.
  if (::umount2(".", MNT_DETACH) != 0) PITSTOP_DIE("detach the old root");
  if (::chdir("/") != 0) PITSTOP_DIE("chdir /");
  if (::mount(nullptr, "/", nullptr,
              MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
              nullptr) != 0) {
    PITSTOP_DIE("remount the private root read-only");
  }
}

void DropCapabilities(const ChildPlan& plan) {
  if (plan.set_ids || plan.drop_caps) {
    for (int cap = 0; cap <= plan.cap_last; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
        PITSTOP_DIE("drop the capability bounding set");
    }
  }
  if (!plan.drop_caps) return;
  // uid 0 gets no capabilities back at exec, and cannot undo that.
  if (::prctl(PR_SET_SECUREBITS,
              SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                  SECBIT_NO_SETUID_FIXUP_LOCKED,
              0, 0, 0) != 0) {
    PITSTOP_DIE("set securebits");
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) PITSTOP_DIE("capset");
}

void LimitAndDrop(const ChildPlan& plan) {
  if (!plan.hostname.empty() &&
      ::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    PITSTOP_DIE("sethostname");
  }
  for (const auto& [resource, limit] : plan.rlimits) {
    if (::setrlimit(static_cast<__rlimit_resource>(resource), &limit) != 0)
      PITSTOP_DIE("setrlimit");
  }
  DropCapabilities(plan);
  if (plan.set_ids) {
    if (RawSetIds(plan.uid, plan.gid) != 0) PITSTOP_DIE("change uid and gid");
    // The keeper holds a copy of the daemon's memory and its own secret:
    // the driver, with the same uid, must not read it through /proc (the
    // uid change already made the process non-dumpable; this states it).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

// "Ready" to the daemon, then its answer (it puts the child into its cgroup
// first on v2). End of file instead means the daemon gave up or died.
void AwaitDaemon(const ChildPlan& plan) {
  // A keeper outlives the daemon; the driver it forks, and a child without
  // a keeper, die with their parent. Armed only now: a change of uid clears
  // the parent-death signal; if the daemon dies after answering, it is
  // armed already.
  if (!plan.init) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  WriteAll(kErrorFd, "R", 1);
  char go = 0;
  ssize_t n;
  do {
    n = ::read(kSyncFd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(125);
  ::close(kSyncFd);
}

void Confine(const ChildPlan& plan) {
  if (!plan.working_dir.empty() && ::chdir(plan.working_dir.c_str()) != 0)
    Die(plan.working_dir, errno);
  if (plan.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    PITSTOP_DIE("no_new_privs");
  if (plan.seccomp.filter != nullptr &&
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &plan.seccomp) != 0) {
    PITSTOP_DIE("install the seccomp filter");
  }
}

}  // namespace

void RunSandboxChild(const ChildPlan& plan) {
  // The daemon's umask is 077; the private root's directories and the
  // driver's own files get the usual 022.
  ::umask(022);
  // Into the cgroup before anything is allocated: the child is
  // single-threaded, so moving its one thread moves the process, without the
  // global lock a move by pid takes. Reported once the error pipe is in place.
  int cgroup_errno = 0;
  for (int fd : plan.cgroup_fds) {
    if (cgroup_errno == 0 && ::write(fd, "0", 1) != 1) cgroup_errno = errno;
  }
  MoveDescriptors(plan);
  if (cgroup_errno != 0) {
    static constexpr char kWhat[] = "enter the instance's cgroup";
    DieInChild(kWhat, sizeof kWhat - 1, cgroup_errno);
  }
  ::setsid();
  EnterPrivateRoot(plan);
  LimitAndDrop(plan);
  AwaitDaemon(plan);
  Confine(plan);
  if (plan.init) RunKeeper(plan);
  ExecDriver(plan);
}

}  // namespace pitstop
