#include "supervisor/sandbox/host_sandbox.h"

#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/sandbox/sandbox_child.h"

namespace pitstop {
namespace {

// Runs in the probe child: only system calls.
[[noreturn]] void ProbeChild(const char* root, const char* proc) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    ::_exit(10);
  if (::mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") != 0)
    ::_exit(11);
  if (::mkdir(proc, 0755) != 0) ::_exit(12);
  if (::mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0)
    ::_exit(13);
  ::_exit(0);
}

// Clones a child with `flags`; returns its exit status, or -errno when the
// clone itself fails.
int TryClone(uint64_t flags, const std::string& root) {
  const std::string proc = root + "/proc";
  const long pid = CloneProcess(flags, nullptr);
  if (pid < 0) return -errno;
  if (pid == 0) {
    if (flags & CLONE_NEWUSER) ::_exit(0);
    ProbeChild(root.c_str(), proc.c_str());
  }
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

bool OwnCapabilitiesEmpty() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      return line.find_first_not_of("0\t ", 7) == std::string::npos;
    }
  }
  return false;
}

}  // namespace

std::string HostSandboxSupport::Summary() const {
  std::vector<std::string> parts;
  parts.push_back(root ? "root" : "not root");
  parts.push_back(namespaces ? "namespaces" : "no namespaces");
  parts.push_back(cgroups.version == CgroupVersion::kV2   ? "cgroup v2"
                  : cgroups.version == CgroupVersion::kV1 ? "cgroup v1"
                                                          : "no cgroups");
  parts.push_back(seccomp ? "seccomp" : "no seccomp");
  parts.push_back(user_namespaces ? "user namespaces available"
                                  : "no user namespaces");
  return absl::StrJoin(parts, ", ");
}

std::vector<std::string> HostSandboxSupport::Gaps() const {
  std::vector<std::string> gaps;
  if (!namespaces) {
    gaps.push_back(absl::StrCat("namespaces and private root: not available (",
                                namespaces_why_not, ")"));
  }
  if (!root) {
    gaps.push_back(
        "dedicated uid: the daemon is not root, so drivers run as its uid");
  }
  if (cgroups.version == CgroupVersion::kNone) {
    gaps.push_back(
        absl::StrCat("cgroup memory and pids limits: ", cgroups.why_not));
  }
  if (!seccomp) gaps.push_back(absl::StrCat("seccomp: ", seccomp_why_not));
  return gaps;
}

HostSandboxSupport DetectHostSandboxSupport(const std::string& scratch_dir) {
  HostSandboxSupport s;
  s.root = ::geteuid() == 0;
  s.capabilities_empty = OwnCapabilitiesEmpty();
  const uint64_t ns =
      CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  if (!s.root) {
    s.namespaces_why_not =
        "the daemon is not root; run pitstopd as root for namespaces";
  } else if (scratch_dir.empty()) {
    s.namespaces_why_not = "no directory for private roots was configured";
  } else if (int rc = TryClone(ns, scratch_dir); rc != 0) {
    s.namespaces_why_not =
        rc < 0 ? absl::StrCat("clone with new namespaces: ", strerror(-rc))
        : rc == 10 || rc == 11
            ? "mounting inside a new mount namespace is not allowed"
        : rc == 12 || rc == 13 ? "mounting /proc in a new PID namespace failed"
                               : "the namespace probe failed";
  } else {
    s.namespaces = true;
  }
  s.user_namespaces =
      !scratch_dir.empty() && TryClone(CLONE_NEWUSER, scratch_dir) == 0;
  if (scratch_dir.empty()) {
    s.cgroups.why_not = "not detected: the launcher has no sandbox directory";
  } else if (s.root) {
    s.cgroups = DetectCgroups();
  } else {
    s.cgroups.why_not = "the daemon is not root and cannot create cgroups";
  }
  const unsigned int kill_process = SECCOMP_RET_KILL_PROCESS;
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    s.seccomp_why_not = "the kernel has no seccomp";
  } else if (::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0,
                       &kill_process) != 0) {
    s.seccomp_why_not = "the kernel cannot kill a process on a violation";
  } else {
    s.seccomp = true;
  }
  return s;
}

}  // namespace pitstop
