// A planned hand-over from a running pitstopd to a new one (pitstopd
// --take-over, docs/lifecycle.md "Handing over to a new pitstopd"): under
// load no call fails and every driver keeps its pid; a new daemon that gives
// up leaves the old one serving.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/load_generator.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// Ordinary gRPC callers: no wait-for-ready, no resending.
LoadOptions OrdinaryCallers(const std::shared_ptr<grpc::Channel>& channel) {
  LoadOptions options;
  options.channel = channel;
  options.driver = "recorder";
  options.callers = 8;
  options.resources = 40;
  options.work_ms = "2";
  options.call_timeout = absl::Seconds(30);
  return options;
}

// The failed calls, the first error and the calls in all.
struct Tally {
  int64_t calls = 0;
  int64_t failed = 0;
  std::string first_error;
};
Tally Count(const LoadGenerator& load) {
  Tally t;
  for (const CallRecord& r : load.Records()) {
    ++t.calls;
    if (!r.ok && t.first_error.empty()) t.first_error = r.error;
    t.failed += r.ok ? 0 : 1;
  }
  return t;
}

std::string StateDir(const std::string& dir) { return dir + "/state"; }

// /proc/PID/status's PPid, and /proc/PID/comm.
int ParentOf(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PPid:", 0) == 0) return std::stoi(line.substr(5));
  }
  return 0;
}
std::string CommandName(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

TEST_CASE(
    "a planned hand-over to a new pitstopd under load fails no call, every "
    "driver keeps its pid, and the old daemon exits 0",
    "[integration][handover]") {
  if (!KeepersOnThisHost()) return;
  const std::string dir = MakeTempDir("pitstop-handover");
  KeeperReaper reaper(dir);
  const DaemonSpec spec = RecorderIn(dir);
  Daemon first(spec);
  const int pid = first.GetDriver("recorder").pid();
  // Its keeper is not named like the daemon (killall pitstopd spares it).
  CHECK(CommandName(ParentOf(pid)) == "pitstop-keeper");

  LoadGenerator load(OrdinaryCallers(first.channel()));
  load.Start();
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));

  DaemonSpec next = spec;
  next.extra_args = {"--take-over"};
  Daemon second(next);
  ExitInfo exit;
  REQUIRE(first.AwaitExit(absl::Seconds(30), &exit));
  INFO(first.Log());
  REQUIRE(exit.signal == 0);
  REQUIRE(exit.exit_code == 0);
  REQUIRE(first.Log().find("handed over; exiting with the drivers running") !=
          std::string::npos);
  // The new daemon serves the same process, and the callers go on.
  REQUIRE(second.GetDriver("recorder").pid() == pid);
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));
  load.Stop();
  const Tally t = Count(load);
  INFO(t.first_error);
  REQUIRE(t.failed == 0);
  std::cout << "calls during the hand-over test: " << t.calls << "\n";
  REQUIRE(second.Terminate().Clean());
  REQUIRE(AwaitProcessesGone({pid}, absl::Seconds(10)));
  fs::remove_all(dir);
}

TEST_CASE(
    "a new pitstopd that gives up before the old one let go leaves the old "
    "one serving: it accepts again and no call fails",
    "[integration][handover]") {
  if (!KeepersOnThisHost()) return;
  const std::string dir = MakeTempDir("pitstop-handover");
  KeeperReaper reaper(dir);
  Daemon first(RecorderIn(dir));
  const int pid = first.GetDriver("recorder").pid();
  LoadGenerator load(OrdinaryCallers(first.channel()));
  load.Start();
  REQUIRE(load.AwaitCalls(200, absl::Seconds(30)));

  // As a new daemon would: ask, take the listener, then go away (before or
  // after the old one drained: it lets go only on an explicit "take").
  const std::string path = StateDir(dir) + "/control/handover.sock";
  const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "pitstop-handover 2\n";
  REQUIRE(::send(s, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  char answer[512] = {};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
  iovec iov{answer, sizeof answer - 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  REQUIRE(::recvmsg(s, &msg, MSG_CMSG_CLOEXEC) > 0);
  REQUIRE(std::string(answer).rfind("listener ", 0) == 0);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  REQUIRE(c != nullptr);
  int listener = -1;
  std::memcpy(&listener, CMSG_DATA(c), sizeof listener);
  ::close(listener);
  ::close(s);

  REQUIRE(first.AwaitLog("hand-over abandoned", absl::Seconds(30)));
  REQUIRE(load.AwaitCalls(500, absl::Seconds(30)));
  load.Stop();
  const Tally t = Count(load);
  INFO(t.first_error);
  REQUIRE(t.failed == 0);
  REQUIRE(first.GetDriver("recorder").pid() == pid);
  REQUIRE(first.Terminate().Clean());
  fs::remove_all(dir);
}

TEST_CASE(
    "pitstopd --take-over with no daemon on the state directory says so and "
    "exits non-zero without touching it",
    "[integration][handover]") {
  const std::string dir = MakeTempDir("pitstop-handover");
  fs::create_directories(StateDir(dir));
  const CommandResult r = RunCommand(
      {PITSTOPD_PATH, "--take-over", "--listen", "unix:" + dir + "/sock",
       "--state-dir", StateDir(dir), "--drivers-dir",
       std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-1", "--sandbox",
       "best-effort"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 1);
  REQUIRE((r.out + r.err).find("no pitstopd to take over from") !=
          std::string::npos);
  REQUIRE((r.out + r.err).find("start without --take-over") !=
          std::string::npos);
  REQUIRE(!fs::exists(StateDir(dir) + "/pitstopd.db"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
