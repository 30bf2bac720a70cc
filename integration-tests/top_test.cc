// `pitstop top` and `pitstop describe`'s figures (GetDriverStats): run in a
// real terminal (tmux), read off its screen; the counts checked against
// the calls the test made.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace sv1 = pitstop::supervisor::v1;

// A tmux server of the test's own (-L), with one session running a command
// in a 160x30 terminal.
class Tmux {
 public:
  explicit Tmux(const std::string& command)
      : socket_(absl::StrCat("pitstop-top-test-", ::getpid())) {
    CommandResult r = Run(
        {"new-session", "-d", "-s", "top", "-x", "160", "-y", "30", command});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  ~Tmux() { Run({"kill-server"}); }

  std::string Screen() { return Run({"capture-pane", "-p", "-t", "top"}).out; }
  // Polls the screen until it contains `text`; the last screen either way.
  std::string AwaitScreen(const std::string& text,
                          absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    std::string screen;
    while (absl::Now() < deadline) {
      screen = Screen();
      if (absl::StrContains(screen, text)) return screen;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return screen;
  }
  void Keys(const std::string& keys) { Run({"send-keys", "-t", "top", keys}); }
  bool Alive() { return Run({"has-session", "-t", "top"}).exit_code == 0; }

 private:
  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/tmux", "-L", socket_});
    return RunCommand(args);
  }
  const std::string socket_;
};

TEST_CASE(
    "pitstop top shows each driver's state, calls and restarts live in a "
    "terminal and quits on q",
    "[integration][cli][top]") {
  const std::string dir = MakeTempDir("pitstop-top");
  KeeperReaper reaper(dir);
  Daemon d(RecorderIn(dir));
  Tmux tmux(absl::StrCat(PITSTOP_CLI_PATH, " --address ", d.address(),
                         " top --interval 0.3 --window 60"));
  std::string screen = tmux.AwaitScreen("recorder");
  INFO(screen);
  REQUIRE(absl::StrContains(screen, "CALLS/S"));
  REQUIRE(absl::StrContains(screen, "READY"));

  // 30 calls: the rate over the window is no longer 0, and p50 shows.
  for (int i = 0; i < 30; ++i) {
    REQUIRE(RecorderCreate(d, "recorder", absl::StrCat("top-", i)) ==
            grpc::StatusCode::OK);
  }
  const auto calls_shown = [&] {
    const std::string s = tmux.Screen();
    const size_t row = s.find("recorder  ");
    if (row == std::string::npos) return false;
    const std::string line = s.substr(row, s.find('\n', row) - row);
    // CALLS/S is no longer "0", and a latency is shown.
    return line.find("µs") != std::string::npos ||
           line.find("ms") != std::string::npos;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!calls_shown() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  INFO(tmux.Screen());
  REQUIRE(calls_shown());

  // A crash: the restart shows without anything typed.
  const int pid = d.GetDriver("recorder").pid();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  const int new_pid = d.AwaitReady("recorder", pid).pid();
  screen = tmux.AwaitScreen(std::to_string(new_pid));
  INFO(screen);
  REQUIRE(absl::StrContains(screen, std::to_string(new_pid)));

  tmux.Keys("q");
  const absl::Time quit_deadline = absl::Now() + absl::Seconds(10);
  while (tmux.Alive() && absl::Now() < quit_deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  REQUIRE_FALSE(tmux.Alive());
  fs::remove_all(dir);
}

TEST_CASE(
    "describe and top without a terminal report the calls counted, per "
    "version",
    "[integration][cli][top]") {
  const std::string dir = MakeTempDir("pitstop-top");
  KeeperReaper reaper(dir);
  Daemon d(RecorderIn(dir));
  for (int i = 0; i < 7; ++i) {
    REQUIRE(RecorderCreate(d, "recorder", absl::StrCat("describe-", i)) ==
            grpc::StatusCode::OK);
  }
  REQUIRE(RecorderCreate(d, "recorder", "not/safe") ==
          grpc::StatusCode::INVALID_ARGUMENT);

  CommandResult json = d.Cli({"describe", "recorder", "-o", "json"});
  INFO(json.out << json.err);
  REQUIRE(json.exit_code == 0);
  CHECK(absl::StrContains(json.out, "\"calls_total\": \"8\""));
  // INVALID_ARGUMENT is the caller's fault, not the driver's.
  CHECK(absl::StrContains(json.out, "\"driver_errors_total\": \"0\""));

  CommandResult text = d.Cli({"describe", "recorder"});
  INFO(text.out);
  CHECK(absl::StrContains(text.out, "calls:"));
  CHECK(absl::StrContains(text.out, "1.0.0"));

  // Not a terminal: one table, then exit.
  CommandResult top = d.Cli({"top"});
  INFO(top.out << top.err);
  REQUIRE(top.exit_code == 0);
  CHECK(absl::StartsWith(top.out, "NAME"));
  CHECK(absl::StrContains(top.out, "recorder"));
  CHECK(top.out.find("\x1b[") == std::string::npos);  // no escape codes

  sv1::GetDriverStatsRequest bad;
  bad.set_window_seconds(301);
  sv1::GetDriverStatsResponse out;
  grpc::ClientContext ctx;
  grpc::Status s = d.admin().GetDriverStats(&ctx, bad, &out);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(
      absl::StrContains(s.error_message(), "window_seconds must be 1 to 300"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
