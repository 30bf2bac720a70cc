#ifndef PITSTOP_SUPERVISOR_SANDBOX_PROCESS_LAUNCHER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_PROCESS_LAUNCHER_H_

// The interface through which the supervisor starts, signals and learns the
// end of driver processes. One implementation owns every child: it spawns,
// reaps and signals them (ChildProcessManager); tests use a fake.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pitstop {

// How a driver is confined (docs/sandbox.md). Host paths: the launcher
// mounts them at fixed places in the driver's private root and rewrites the
// executable, working directory, arguments and environment values that start
// with them.
struct SandboxSpec {
  // false: a plain child (the daemon in tests, tools); nothing below applies.
  bool enabled = false;
  std::string driver;  // names the uid, the cgroup and the hostname
  // The cgroup is pitstop/<driver>/<daemon pid>-<instance_id>.
  uint64_t instance_id = 0;
  std::string version;      // recorded for a daemon that re-adopts the instance
  std::string package_dir;  // the unpacked CAR: /driver, read-only
  std::string data_dir;     // the driver's state: /data, writable
  std::string socket_dir;   // the instance's socket directory: /run/pitstop
  // Share the host's network (permissions.network: outbound, granted by the
  // operator); otherwise the driver gets an empty network namespace.
  bool host_network = false;
  uint64_t memory_bytes = 0;  // 0: no limit
  uint32_t pids = 0;
  uint32_t open_files = 0;
};

struct LaunchSpec {
  std::string executable;         // absolute path
  std::vector<std::string> args;  // not including argv[0]
  std::vector<std::string> env;   // "KEY=VALUE"; nothing else is inherited
  std::string working_dir;
  SandboxSpec sandbox;
  // Called once, on the launcher's thread, when a sandboxed driver's socket
  // (PITSTOP_SOCKET) appears after Launch returned, so that its first probe
  // need not wait for a poll. Optional: launchers that do not watch the
  // socket directory never call it.
  std::function<void()> on_listening;
};

// Which protections are in force for one process, and which could not be
// applied on this host (gaps), as the API shows them.
struct SandboxReport {
  std::string mode;  // "strict", "best-effort", or "off" (not sandboxed)
  std::vector<std::string> namespaces;  // of "mnt", "pid", "net", "ipc", "uts"
  bool private_root = false;
  int64_t uid = -1;  // the driver's uid and gid; -1: unknown
  int64_t gid = -1;
  bool no_new_privs = false;
  bool capabilities_dropped = false;
  bool seccomp = false;
  std::string cgroup;  // e.g. "v1 pitstop/flashpool/812-3"; empty: none
  uint64_t memory_limit_bytes = 0;
  uint32_t pids_limit = 0;
  std::vector<std::string> rlimits;  // e.g. "nofile=256", "core=0"
  std::string network;               // "none" (empty namespace) or "host"
  std::vector<std::string> gaps;     // protections that could not be applied
};

// How a process ended.
struct ExitInfo {
  ExitInfo(int code = 0, int sig = 0, bool core = false, std::string why = "")
      : exit_code(code),
        signal(sig),
        core_dumped(core),
        cause(std::move(why)) {}

  int exit_code = 0;  // valid when signal == 0
  int signal = 0;     // the terminating signal, or 0
  bool core_dumped = false;
  // Why, when the launcher knows better than the signal: "exceeded memory
  // limit 256 MiB", "killed by seccomp (SIGSYS): a forbidden system call".
  std::string cause;

  // "exited with status 3", "killed by signal 9 (Killed)", or the cause.
  std::string Describe() const;
  bool Clean() const { return signal == 0 && exit_code == 0; }
};

enum class OutputStream { kStdout, kStderr };

// A driver process an earlier daemon started that still runs (or has exited
// and waits, in its keeper, to be collected), proven to be what its record
// says (docs/lifecycle.md, "Re-adoption").
struct Survivor {
  std::string driver;
  uint64_t instance_id = 0;
  std::string version;
  pid_t pid = 0;
  SandboxReport sandbox;
  // The driver exited while no daemon was attached; its exit comes once it
  // is adopted.
  bool exited = false;
  // Output its keeper had to drop while no daemon read it.
  uint64_t dropped_bytes = 0;
};

class ProcessLauncher {
 public:
  // Called with each line a child writes (without the newline; long lines
  // are split). Runs on the launcher's own thread.
  using OutputHandler =
      std::function<void(OutputStream stream, absl::string_view line)>;
  // Called once when the child has ended and been reaped, after its last
  // output line was delivered. Runs on the launcher's own thread.
  using ExitHandler = std::function<void(const ExitInfo& exit)>;

  virtual ~ProcessLauncher() = default;

  // Starts a child. It gets /dev/null as stdin, pipes as stdout and stderr,
  // no other inherited descriptor, its own session, and SIGKILL if the daemon
  // dies; with spec.sandbox.enabled, the sandbox profile too. Errors:
  // NOT_FOUND / PERMISSION_DENIED when the executable cannot run,
  // FAILED_PRECONDITION when a strict sandbox cannot be applied, INTERNAL
  // otherwise, each naming the executable or driver.
  virtual absl::StatusOr<pid_t> Launch(const LaunchSpec& spec,
                                       OutputHandler on_output,
                                       ExitHandler on_exit) = 0;

  // Sends `signal` to a child this launcher started and has not reaped yet.
  // NOT_FOUND when the child is already gone.
  virtual absl::Status Signal(pid_t pid, int signal) = 0;

  // The instances an earlier daemon left running with their keepers, each
  // proven (pidfd, start time, boot, and the keeper's secret) within a short
  // deadline, all at once. What cannot be proven is not trusted: a keeper
  // that is provably one of ours but does not answer is killed (its driver
  // ends with it), anything else is left alone; its records are removed.
  // Each survivor must then be Adopted (or Signalled to stop after Adopt).
  // Call once, before any Launch. Blocks for at most about a second.
  virtual std::vector<Survivor> FindSurvivors() { return {}; }

  // Takes a survivor (by its pid from FindSurvivors) back: from now on it is
  // a child like those Launch starts, its output (what its keeper kept
  // first) goes to `on_output`, and its exit to `on_exit`. NOT_FOUND for a
  // pid FindSurvivors did not return; UNAVAILABLE when its keeper went away
  // meanwhile (`on_exit` is then called too).
  virtual absl::Status Adopt(pid_t pid, OutputHandler on_output,
                             ExitHandler on_exit) {
    (void)on_output;
    (void)on_exit;
    return absl::NotFoundError(absl::StrCat("no survivor with pid ", pid));
  }

  // The protections in force for a child this launcher started and has not
  // reaped yet; an empty report (mode "off") otherwise.
  virtual SandboxReport Protections(pid_t) {
    SandboxReport off;
    off.mode = "off";
    return off;
  }
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_PROCESS_LAUNCHER_H_
