#include "supervisor/sandbox/child_process_manager.h"

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pitstop {
namespace {

// Collects what the manager reports about one child.
struct Observed {
  absl::Mutex mu;
  std::vector<std::string> lines ABSL_GUARDED_BY(mu);
  bool exited ABSL_GUARDED_BY(mu) = false;
  ExitInfo exit ABSL_GUARDED_BY(mu);

  ProcessLauncher::OutputHandler Output() {
    return [this](OutputStream s, absl::string_view line) {
      absl::MutexLock lock(&mu);
      lines.push_back(
          std::string(s == OutputStream::kStdout ? "out:" : "err:") +
          std::string(line));
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
};

LaunchSpec Shell(const std::string& script) {
  LaunchSpec spec;
  spec.executable = "/bin/sh";
  spec.args = {"-c", script};
  spec.env = {"GREETING=hello"};
  spec.working_dir = "/";
  return spec;
}

TEST_CASE("a child's output lines and exit status are reported", "[sandbox]") {
  ChildProcessManager manager;
  Observed seen;
  auto pid = manager.Launch(
      Shell("echo \"$GREETING\"; echo oops >&2; printf partial; exit 3"),
      seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  REQUIRE(seen.AwaitExit(absl::Seconds(10)));
  absl::MutexLock lock(&seen.mu);
  REQUIRE(seen.exit.exit_code == 3);
  REQUIRE(seen.exit.signal == 0);
  REQUIRE(seen.exit.Describe() == "exited with status 3");
  std::sort(seen.lines.begin(), seen.lines.end());
  REQUIRE(seen.lines ==
          std::vector<std::string>{"err:oops", "out:hello", "out:partial"});
}

TEST_CASE("a child flooding its output does not hold up the others",
          "[sandbox]") {
  ChildProcessManager manager;
  std::atomic<int64_t> flood_lines{0};
  Observed quiet;
  // Empty lines as fast as the pipe takes them, forever.
  auto flood = manager.Launch(
      Shell("exec yes ''"),
      [&](OutputStream, absl::string_view) {
        // Each line costs a little, like a log write: slower than `yes`.
        const absl::Time until = absl::Now() + absl::Microseconds(2);
        while (absl::Now() < until) {
        }
        ++flood_lines;
      },
      [](const ExitInfo&) {});
  REQUIRE(flood.ok());
  // The flood is under way...
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (flood_lines.load() < 50000 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  REQUIRE(flood_lines.load() >= 50000);
  // ...and the monitor thread still serves another child between reads.
  auto pid =
      manager.Launch(Shell("echo done; exit 4"), quiet.Output(), quiet.Exit());
  REQUIRE(pid.ok());
  REQUIRE(quiet.AwaitExit(absl::Seconds(10)));
  REQUIRE(manager.Signal(*flood, SIGKILL).ok());
  absl::MutexLock lock(&quiet.mu);
  REQUIRE(quiet.exit.exit_code == 4);
  REQUIRE(quiet.lines == std::vector<std::string>{"out:done"});
}

TEST_CASE("a signalled child is reported with its signal and then unknown",
          "[sandbox]") {
  ChildProcessManager manager;
  Observed seen;
  auto pid = manager.Launch(Shell("exec sleep 60"), seen.Output(), seen.Exit());
  REQUIRE(pid.ok());
  REQUIRE(manager.LiveChildren() == 1);
  REQUIRE(manager.Signal(*pid, SIGKILL).ok());
  REQUIRE(seen.AwaitExit(absl::Seconds(10)));
  {
    absl::MutexLock lock(&seen.mu);
    REQUIRE(seen.exit.signal == SIGKILL);
    REQUIRE(seen.exit.Describe().find("killed by signal 9") == 0);
  }
  REQUIRE(manager.LiveChildren() == 0);
  REQUIRE(manager.Signal(*pid, SIGTERM).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("a child inherits no descriptor beyond stdin, stdout and stderr",
          "[sandbox]") {
  ChildProcessManager manager;
  Observed seen;
  auto pid = manager.Launch(Shell("ls /proc/self/fd | wc -l"), seen.Output(),
                            seen.Exit());
  REQUIRE(pid.ok());
  REQUIRE(seen.AwaitExit(absl::Seconds(10)));
  absl::MutexLock lock(&seen.mu);
  // 0, 1, 2 and the descriptor ls opens to read the directory.
  REQUIRE(seen.lines == std::vector<std::string>{"out:4"});
}

TEST_CASE("a missing executable is NOT_FOUND naming it", "[sandbox]") {
  ChildProcessManager manager;
  auto pid = manager.Launch(LaunchSpec{"/nonexistent/driver", {}, {}, "/", {}},
                            nullptr, nullptr);
  REQUIRE(pid.status().code() == absl::StatusCode::kNotFound);
  REQUIRE(pid.status().message().find("/nonexistent/driver") !=
          std::string::npos);
}

TEST_CASE("the manager kills and reaps its children when destroyed",
          "[sandbox]") {
  pid_t pid = 0;
  {
    ChildProcessManager manager;
    auto launched = manager.Launch(Shell("exec sleep 60"), nullptr, nullptr);
    REQUIRE(launched.ok());
    pid = *launched;
  }
  // Reaped: the pid no longer names our child.
  REQUIRE(::kill(pid, 0) != 0);
}

}  // namespace
}  // namespace pitstop
