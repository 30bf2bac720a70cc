// The sandbox profile on real processes. Tests that need what the host may
// not allow (namespaces, cgroups) check HostSandboxSupport first and then
// assert that the report says what is missing; as root on a host that allows
// everything, every protection is exercised for real.

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/sandbox/child_process_manager.h"
#include "supervisor/sandbox/seccomp_filter.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct Seen {
  absl::Mutex mu;
  std::vector<std::string> lines ABSL_GUARDED_BY(mu);
  bool exited ABSL_GUARDED_BY(mu) = false;
  ExitInfo exit ABSL_GUARDED_BY(mu);

  ProcessLauncher::OutputHandler Output() {
    return [this](OutputStream, absl::string_view line) {
      absl::MutexLock lock(&mu);
      lines.emplace_back(line);
    };
  }
  ProcessLauncher::ExitHandler Exit() {
    return [this](const ExitInfo& e) {
      absl::MutexLock lock(&mu);
      exited = true;
      exit = e;
    };
  }
  bool AwaitExit(absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&exited), timeout);
  }
  std::string Text() {
    absl::MutexLock lock(&mu);
    return absl::StrJoin(lines, "\n");
  }
};

// A scratch directory, a fake package, data and socket directories.
struct Dirs {
  Dirs() {
    char tmpl[] = "/tmp/pitstop-sandbox-test-XXXXXX";
    root = ::mkdtemp(tmpl);
    for (const char* d : {"scratch", "pkg/bin", "data", "run"})
      fs::create_directories(fs::path(root) / d);
    ::chmod(root.c_str(), 0755);
  }
  ~Dirs() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  LaunchSpec Shell(const std::string& script, uint64_t memory_mb = 64) {
    LaunchSpec spec;
    spec.executable = "/bin/sh";
    spec.args = {"-c", script};
    spec.env = {"PATH=/usr/bin:/bin", "DATA=" + root + "/data"};
    spec.working_dir = root + "/data";
    spec.sandbox.enabled = true;
    spec.sandbox.driver = "sbx-test";
    spec.sandbox.instance_id = static_cast<uint64_t>(::getpid()) * 100 + n++;
    spec.sandbox.package_dir = root + "/pkg";
    spec.sandbox.data_dir = root + "/data";
    spec.sandbox.socket_dir = root + "/run";
    spec.sandbox.memory_bytes = memory_mb << 20;
    spec.sandbox.pids = 32;
    spec.sandbox.open_files = 64;
    return spec;
  }
  SandboxOptions Options(SandboxMode mode = SandboxMode::kBestEffort) {
    SandboxOptions o;
    o.mode = mode;
    o.scratch_dir = root + "/scratch";
    return o;
  }
  std::string root;
  int n = 0;
};

bool FullSandbox(const HostSandboxSupport& h) {
  return h.root && h.namespaces && h.seccomp &&
         h.cgroups.version != CgroupVersion::kNone;
}

TEST_CASE(
    "a sandboxed child has no privileges, a filter and its own "
    "namespaces",
    "[sandbox]") {
  Dirs dirs;
  ChildProcessManager manager(dirs.Options());
  Seen seen;
  auto pid = manager.Launch(
      dirs.Shell("grep -E '^(Uid|NoNewPrivs|CapEff|CapBnd|Seccomp):' "
                 "/proc/self/status; echo \"data=$DATA\"; "
                 "echo hello > \"$DATA/file\" && echo wrote; ls /; "
                 "echo x > /usr/escape || echo usr-readonly; "
                 "echo fds=$(ls /proc/self/fd | wc -l)"),
      seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  const SandboxReport report = manager.Protections(*pid);
  REQUIRE(seen.AwaitExit(absl::Seconds(20)));
  const std::string out = seen.Text();
  INFO(out);
  CHECK(absl::StrContains(out, "NoNewPrivs:\t1"));
  CHECK(absl::StrContains(out, "wrote"));
  CHECK(absl::StrContains(out, "usr-readonly"));
  // 0, 1, 2 and the descriptor ls opens to read the directory.
  CHECK(absl::StrContains(out, "fds=4"));
  if (!FullSandbox(manager.host())) {
    WARN("host lacks part of the sandbox: " << manager.host().Summary());
    CHECK(!report.gaps.empty());
    return;
  }
  CHECK(report.gaps.empty());
  CHECK(report.namespaces ==
        std::vector<std::string>{"mnt", "pid", "ipc", "uts", "net"});
  CHECK(report.seccomp);
  CHECK(report.uid >= 61000);
  CHECK(absl::StrContains(out, "CapEff:\t0000000000000000"));
  CHECK(absl::StrContains(out, "CapBnd:\t0000000000000000"));
  CHECK(absl::StrContains(out, "Seccomp:\t2"));
  CHECK(absl::StrContains(out, absl::StrCat("Uid:\t", report.uid)));
  // The environment names the paths inside the private root.
  CHECK(absl::StrContains(out, "data=/data"));
  CHECK(fs::exists(fs::path(dirs.root) / "data" / "file"));
  struct stat st;
  REQUIRE(::stat((dirs.root + "/data").c_str(), &st) == 0);
  CHECK(static_cast<int64_t>(st.st_uid) == report.uid);
  CHECK(absl::StrContains(out, "driver"));
  CHECK(!fs::exists("/usr/escape"));
}

TEST_CASE("a child killed for exceeding its memory limit is described as such",
          "[sandbox]") {
  Dirs dirs;
  ChildProcessManager manager(dirs.Options());
  if (manager.host().cgroups.version == CgroupVersion::kNone) {
    WARN("no cgroups here: " << manager.host().cgroups.why_not);
    return;
  }
  Seen seen;
  // The shell keeps 200 MB in a variable: far above the 32 MiB limit.
  auto pid = manager.Launch(
      dirs.Shell("x=$(head -c 200000000 /dev/zero | tr '\\0' a); "
                 "echo survived ${#x}",
                 32),
      seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  REQUIRE(seen.AwaitExit(absl::Seconds(60)));
  absl::MutexLock lock(&seen.mu);
  INFO(absl::StrJoin(seen.lines, "\n"));
  CHECK(seen.exit.signal == SIGKILL);
  CHECK(seen.exit.Describe() ==
        "exceeded memory limit 32 MiB (killed by the kernel's OOM killer)");
}

TEST_CASE("a child that calls a denied system call is killed by seccomp",
          "[sandbox]") {
  Dirs dirs;
  ChildProcessManager manager(dirs.Options());
  if (!manager.host().seccomp) {
    WARN("no seccomp here: " << manager.host().seccomp_why_not);
    return;
  }
  Seen seen;
  LaunchSpec spec = dirs.Shell("");
  spec.executable = "/usr/bin/unshare";
  spec.args = {"--user", "true"};
  auto pid = manager.Launch(spec, seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  REQUIRE(seen.AwaitExit(absl::Seconds(20)));
  absl::MutexLock lock(&seen.mu);
  CHECK(seen.exit.signal == SIGSYS);
  CHECK(absl::StartsWith(seen.exit.Describe(), "killed by seccomp (SIGSYS)"));
  // The call is named when the kernel's audit record is readable (it may be
  // rate-limited away, then the description stays general).
  CHECK((seen.exit.Describe() ==
             "killed by seccomp (SIGSYS): forbidden system call unshare" ||
         absl::StrContains(seen.exit.Describe(), "a forbidden system call")));
}

TEST_CASE(
    "a strict sandbox refuses a driver whose protections cannot all "
    "be applied",
    "[sandbox]") {
  Dirs dirs;
  SandboxOptions options = dirs.Options(SandboxMode::kStrict);
  options.scratch_dir.clear();  // so no private root is possible
  ChildProcessManager manager(options);
  Seen seen;
  auto pid = manager.Launch(dirs.Shell("true"), seen.Output(), seen.Exit());
  REQUIRE(pid.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(pid.status().message(), "driver sbx-test refused"));
  CHECK(absl::StrContains(pid.status().message(), "namespaces"));
  CHECK(absl::StrContains(pid.status().message(), "best-effort"));
  CHECK(manager.LiveChildren() == 0);
}

TEST_CASE("a best-effort sandbox runs a driver and reports what is missing",
          "[sandbox]") {
  Dirs dirs;
  SandboxOptions options = dirs.Options(SandboxMode::kBestEffort);
  options.scratch_dir.clear();  // so no private root is possible
  ChildProcessManager manager(options);
  Seen seen;
  auto pid = manager.Launch(
      dirs.Shell("grep -E '^(NoNewPrivs|CapEff|CapBnd):' /proc/self/status"),
      seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  const SandboxReport report = manager.Protections(*pid);
  REQUIRE(seen.AwaitExit(absl::Seconds(20)));
  CHECK(report.mode == "best-effort");
  CHECK(report.namespaces.empty());
  CHECK_FALSE(report.private_root);
  CHECK(report.network == "host");
  REQUIRE(!report.gaps.empty());
  CHECK(absl::StrContains(report.gaps[0], "namespaces and private root"));
  CHECK(report.no_new_privs);
  CHECK(absl::StrContains(seen.Text(), "NoNewPrivs:\t1"));
  if (::geteuid() != 0) return;
  // As root: the directories are open to other users, so the driver gets a
  // uid of its own even without a private root.
  CHECK(report.uid >= 61000);
  CHECK(report.capabilities_dropped);
  CHECK(absl::StrContains(seen.Text(), "CapEff:\t0000000000000000"));
  // When they are not, it could only run as uid 0: refused, saying why.
  REQUIRE(::chmod(dirs.root.c_str(), 0700) == 0);
  Seen again;
  pid = manager.Launch(dirs.Shell("id -u"), again.Output(), again.Exit());
  REQUIRE(!pid.ok());
  CHECK(absl::StrContains(pid.status().message(), "closed to other users"));
  CHECK(absl::StrContains(pid.status().message(), "which pitstopd never does"));
}

TEST_CASE("children start where clone3 is refused, as in older containers",
          "[sandbox]") {
  // In a forked copy of this test, a filter answers clone3 with ENOSYS, the
  // way Docker's default seccomp profile did; the launcher falls back to
  // clone.
  const pid_t tester = ::fork();
  REQUIRE(tester >= 0);
  if (tester == 0) {
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
      ::_exit(2);
    }
    ChildProcessManager manager;
    Seen seen;
    LaunchSpec spec;
    spec.executable = "/bin/sh";
    spec.args = {"-c", "exit 5"};
    auto pid = manager.Launch(spec, seen.Output(), seen.Exit());
    if (!pid.ok() || !seen.AwaitExit(absl::Seconds(20))) ::_exit(3);
    absl::MutexLock lock(&seen.mu);
    ::_exit(seen.exit.exit_code == 5 ? 0 : 4);
  }
  int status = 0;
  REQUIRE(::waitpid(tester, &status, 0) == tester);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a sandboxed child's missing executable is NOT_FOUND", "[sandbox]") {
  Dirs dirs;
  ChildProcessManager manager(dirs.Options());
  LaunchSpec spec = dirs.Shell("");
  spec.executable = dirs.root + "/pkg/bin/missing";
  Seen seen;
  auto pid = manager.Launch(spec, seen.Output(), seen.Exit());
  REQUIRE(pid.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(pid.status().message(), "bin/missing"));
}

TEST_CASE("a SIGTERM to a sandboxed child reaches the driver behind its init",
          "[sandbox]") {
  Dirs dirs;
  ChildProcessManager manager(dirs.Options());
  Seen seen;
  auto pid = manager.Launch(
      dirs.Shell("trap 'echo got-term; exit 7' TERM; echo ready; "
                 "while true; do sleep 0.05; done"),
      seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  {
    absl::MutexLock lock(&seen.mu);
    auto ready = [&seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(seen.mu) {
      return !seen.lines.empty();
    };
    REQUIRE(
        seen.mu.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(20)));
  }
  REQUIRE(manager.Signal(*pid, SIGTERM).ok());
  REQUIRE(seen.AwaitExit(absl::Seconds(20)));
  absl::MutexLock lock(&seen.mu);
  CHECK(seen.exit.exit_code == 7);
}

TEST_CASE("the seccomp filter builds and lists the dangerous calls",
          "[sandbox]") {
  auto program = BuildDriverSeccompFilter();
  REQUIRE(program.ok());
  CHECK(!program->empty());
  for (const char* name : {"ptrace", "mount", "bpf", "unshare", "setns",
                           "kexec_load", "init_module", "userfaultfd"}) {
    CHECK(std::find(DeniedSyscalls().begin(), DeniedSyscalls().end(), name) !=
          DeniedSyscalls().end());
  }
}

}  // namespace
}  // namespace pitstop
