#include "supervisor/sandbox/seccomp_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pitstop {

const std::vector<std::string>& DeniedSyscalls() {
  static const auto* names = new std::vector<std::string>{
      // Debugging and reading other processes.
      "ptrace",
      "process_vm_readv",
      "process_vm_writev",
      "kcmp",
      "pidfd_getfd",
      // The file-system tree and namespaces.
      "mount",
      "umount2",
      "pivot_root",
      "chroot",
      "unshare",
      "setns",
      "move_mount",
      "open_tree",
      "fsopen",
      "fsconfig",
      "fsmount",
      "fspick",
      "mount_setattr",
      // The kernel itself.
      "bpf",
      "kexec_load",
      "kexec_file_load",
      "init_module",
      "finit_module",
      "delete_module",
      "reboot",
      "swapon",
      "swapoff",
      "acct",
      "syslog",
      "iopl",
      "ioperm",
      "quotactl",
      "lookup_dcookie",
      "vhangup",
      "perf_event_open",
      // Keys, file handles, page-fault handling.
      "keyctl",
      "add_key",
      "request_key",
      "open_by_handle_at",
      "name_to_handle_at",
      "userfaultfd",
      // Clocks.
      "settimeofday",
      "clock_settime",
      "clock_adjtime",
      "adjtimex",
      // Rings that bypass the filter.
      "io_uring_setup",
      "io_uring_enter",
      "io_uring_register",
  };
  return *names;
}

std::string SeccompKilledSyscall(pid_t pid) {
  const int fd = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "";
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  const std::string want_pid = absl::StrCat(" pid=", pid, " ");
  std::string found;
  char record[8192];
  // One record per read, oldest first, until EAGAIN; the last match wins.
  while (true) {
    const ssize_t n = ::read(fd, record, sizeof record - 1);
    if (n < 0 && errno == EPIPE) continue;  // overwritten while reading
    if (n <= 0) break;
    absl::string_view line(record, static_cast<size_t>(n));
    if (!absl::StrContains(line, "type=1326") ||
        !absl::StrContains(line, want_pid) ||
        !absl::StrContains(line, " sig=31 ")) {
      continue;
    }
    uint32_t arch = 0;
    int nr = -1;
    for (absl::string_view field : absl::StrSplit(line, ' ')) {
      if (absl::ConsumePrefix(&field, "arch=")) {
        (void)absl::SimpleHexAtoi(field, &arch);
      } else if (absl::ConsumePrefix(&field, "syscall=")) {
        (void)absl::SimpleAtoi(field, &nr);
      }
    }
    if (nr < 0) continue;
    char* name = seccomp_syscall_resolve_num_arch(arch, nr);
    found = name != nullptr ? std::string(name) : absl::StrCat("number ", nr);
    std::free(name);
  }
  return found;
}

absl::StatusOr<std::vector<sock_filter>> BuildDriverSeccompFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  absl::Cleanup release = [ctx] { seccomp_release(ctx); };
  // A system call of another ABI (i386, x32) would skip the deny-list.
  if (int rc =
          seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      rc != 0) {
    return absl::InternalError(
        absl::StrCat("seccomp: cannot kill foreign ABIs: ", strerror(-rc)));
  }
  for (const std::string& name : DeniedSyscalls()) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0); rc != 0) {
      return absl::InternalError(
          absl::StrCat("seccomp: cannot deny ", name, ": ", strerror(-rc)));
    }
  }
  // clone with a namespace flag is unshare by another name. clone3 passes
  // its flags in memory, where a filter cannot look: it fails with ENOSYS,
  // and the C library falls back to clone.
  for (uint64_t flag :
       {uint64_t{CLONE_NEWNS}, uint64_t{CLONE_NEWUSER}, uint64_t{CLONE_NEWPID},
        uint64_t{CLONE_NEWNET}, uint64_t{CLONE_NEWIPC}, uint64_t{CLONE_NEWUTS},
        uint64_t{CLONE_NEWCGROUP}}) {
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone),
                                  1, SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
        rc != 0) {
      return absl::InternalError(absl::StrCat(
          "seccomp: cannot deny clone with namespaces: ", strerror(-rc)));
    }
  }
  if (int rc =
          seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
      rc != 0) {
    return absl::InternalError(
        absl::StrCat("seccomp: cannot refuse clone3: ", strerror(-rc)));
  }
  // libseccomp 2.5 exports only to a file descriptor.
  const int fd = memfd_create("pitstop-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("seccomp: memfd_create: ", strerror(errno)));
  }
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  if (int rc = seccomp_export_bpf(ctx, fd); rc != 0) {
    return absl::InternalError(
        absl::StrCat("seccomp_export_bpf: ", strerror(-rc)));
  }
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    return absl::InternalError("seccomp_export_bpf wrote no program");
  }
  std::vector<sock_filter> program(size / sizeof(sock_filter));
  if (::pread(fd, program.data(), size, 0) != size) {
    return absl::InternalError("seccomp: cannot read the exported program");
  }
  return program;
}

}  // namespace pitstop
