#ifndef PITSTOP_SUPERVISOR_SANDBOX_PROCESS_LAUNCHER_H_
#define PITSTOP_SUPERVISOR_SANDBOX_PROCESS_LAUNCHER_H_

// The interface through which the supervisor starts, signals and learns the
// end of driver processes. One implementation owns every child: it spawns,
// reaps and signals them (ChildProcessManager); tests use a fake.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop {

struct LaunchSpec {
  std::string executable;         // absolute path
  std::vector<std::string> args;  // not including argv[0]
  std::vector<std::string> env;   // "KEY=VALUE"; nothing else is inherited
  std::string working_dir;
};

// How a process ended.
struct ExitInfo {
  int exit_code = 0;  // valid when signal == 0
  int signal = 0;     // the terminating signal, or 0
  bool core_dumped = false;

  // "exited with status 3", "killed by signal 9 (Killed)".
  std::string Describe() const;
  bool Clean() const { return signal == 0 && exit_code == 0; }
};

enum class OutputStream { kStdout, kStderr };

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
  // dies. Errors: NOT_FOUND / PERMISSION_DENIED when the executable cannot
  // run, INTERNAL otherwise, each naming the executable.
  virtual absl::StatusOr<pid_t> Launch(const LaunchSpec& spec,
                                       OutputHandler on_output,
                                       ExitHandler on_exit) = 0;

  // Sends `signal` to a child this launcher started and has not reaped yet.
  // NOT_FOUND when the child is already gone.
  virtual absl::Status Signal(pid_t pid, int signal) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_PROCESS_LAUNCHER_H_
