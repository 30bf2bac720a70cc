// pitstopd under systemd, as the unit runs it (systemd is not PID 1 here):
// a real NOTIFY_SOCKET this test reads, WATCHDOG_USEC, and a listening
// socket passed by systemd-socket-activate(1) with LISTEN_FDS.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// The service manager's end of NOTIFY_SOCKET: a datagram socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  const std::string& path() const { return path_; }

  // The first datagram from now on that contains `text`.
  std::optional<std::string> Await(const std::string& text,
                                   absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const int ms =
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (::poll(&p, 1, std::max(ms, 1)) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string message(buf, static_cast<size_t>(n));
      seen_ += message + "\n---\n";
      if (absl::StrContains(message, text)) return message;
    }
    return std::nullopt;
  }
  const std::string& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string seen_;
};

TEST_CASE(
    "under systemd pitstopd says READY=1 once its drivers are READY, with a "
    "STATUS line, pings the watchdog, and says STOPPING=1 at SIGTERM",
    "[integration][systemd]") {
  const std::string dir = MakeTempDir("pitstop-systemd");
  KeeperReaper reaper(dir);
  NotifySocket notify(dir + "/notify.sock");
  DaemonSpec spec = RecorderIn(dir);
  spec.env = {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=300000"};
  Daemon d(spec);
  const std::optional<std::string> ready =
      notify.Await("READY=1", absl::Seconds(30));
  INFO(notify.seen());
  REQUIRE(ready.has_value());
  CHECK(absl::StrContains(*ready, "STATUS=1 driver READY"));
  // WatchdogSec=300ms: a ping every 150 ms while both loops answer.
  REQUIRE(notify.Await("WATCHDOG=1", absl::Seconds(5)).has_value());
  REQUIRE(notify.Await("WATCHDOG=1", absl::Seconds(5)).has_value());
  REQUIRE(d.Terminate().Clean());
  const std::optional<std::string> stopping =
      notify.Await("STOPPING=1", absl::Seconds(5));
  REQUIRE(stopping.has_value());
  CHECK(absl::StrContains(*stopping, "STATUS=stopping: 1 driver READY"));
  fs::remove_all(dir);
}

TEST_CASE("a socket systemd passes (LISTEN_FDS) is the one pitstopd serves on",
          "[integration][systemd]") {
  const std::string dir = MakeTempDir("pitstop-systemd");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderIn(dir);
  // systemd-socket-activate binds the socket and starts pitstopd on the
  // first connection (the fixture's), passing it as fd 3.
  spec.wrapper = {"/usr/bin/systemd-socket-activate", "-l",
                  dir + "/pitstopd.sock"};
  Daemon d(spec);
  CHECK(d.AwaitLog("serving on the socket systemd passed", absl::Seconds(5)));
  CHECK(d.GetDriver("recorder").state() ==
        pitstop::supervisor::v1::DRIVER_STATE_READY);
  REQUIRE(d.Terminate().Clean());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
