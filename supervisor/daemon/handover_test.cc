#include "supervisor/daemon/handover.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "supervisor/common/local_socket.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

std::string TempStateDir() {
  std::string t = (fs::temp_directory_path() / "handover-XXXXXX").string();
  return ::mkdtemp(t.data());
}

// The requests a door received, for the test to answer.
struct Requests {
  absl::Mutex mu;
  std::optional<HandoverRequest> last ABSL_GUARDED_BY(mu);

  HandoverRequest Await() {
    absl::MutexLock lock(&mu);
    auto arrived = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return last.has_value();
    };
    REQUIRE(mu.AwaitWithTimeout(absl::Condition(&arrived), absl::Seconds(10)));
    HandoverRequest r = *last;
    last.reset();
    return r;
  }
};

std::unique_ptr<HandoverDoor> OpenDoor(const std::string& path,
                                       Requests& requests) {
  auto door = HandoverDoor::Open(path, [&requests](HandoverRequest r) {
    absl::MutexLock lock(&requests.mu);
    requests.last = r;
  });
  REQUIRE(door.ok());
  return *std::move(door);
}

// What a raw client reads after sending `line`.
std::string RawExchange(const std::string& path, const std::string& line) {
  std::string why;
  const int fd = ConnectWithin(path, absl::Now() + absl::Seconds(5), &why);
  REQUIRE(fd >= 0);
  REQUIRE(::send(fd, line.data(), line.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(line.size()));
  absl::StatusOr<Received> r =
      ReceiveWithFds(fd, 512, absl::Now() + absl::Seconds(5));
  ::close(fd);
  REQUIRE(r.ok());
  return r->bytes;
}

TEST_CASE(
    "a new daemon asks, receives the listening socket and its address, "
    "then learns that the old one let go",
    "[handover]") {
  const std::string dir = TempStateDir();
  const std::string path = HandoverSocketPath(dir);
  Requests requests;
  auto door = OpenDoor(path, requests);
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(fs::path(path).parent_path().c_str(), &st) == 0);
  REQUIRE((st.st_mode & 0777) == 0700);

  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  std::thread old_daemon([&] {
    const HandoverRequest r = requests.Await();
    REQUIRE(r.pid == ::getpid());
    REQUIRE(SendListener(r.connection, pair[0], "unix:/run/x.sock").ok());
    REQUIRE(OfferRelease(r.connection, absl::Now() + absl::Seconds(10)));
    REQUIRE(SendReleased(r.connection).ok());
    ::close(r.connection);
  });
  absl::StatusOr<Predecessor> p =
      Predecessor::Ask(path, absl::Now() + absl::Seconds(10));
  REQUIRE(p.ok());
  REQUIRE(p->address() == "unix:/run/x.sock");
  REQUIRE(p->pid() == ::getpid());
  const int listener = p->TakeListener();
  REQUIRE(listener >= 0);
  // The very socket: what goes in one end comes out of the other.
  REQUIRE(::write(pair[1], "x", 1) == 1);
  char c = 0;
  REQUIRE(::read(listener, &c, 1) == 1);
  REQUIRE(c == 'x');
  REQUIRE(p->AwaitReleased(absl::Now() + absl::Seconds(10)).ok());
  old_daemon.join();
  for (int fd : {listener, pair[0], pair[1]}) ::close(fd);
  fs::remove_all(dir);
}

// A raw new daemon: asks, and returns its end once the listener came.
int RawAsk(const std::string& path, Requests& requests, int listen_fd,
           HandoverRequest* request) {
  std::string why;
  const int fd = ConnectWithin(path, absl::Now() + absl::Seconds(5), &why);
  REQUIRE(fd >= 0);
  const std::string line = "pitstop-handover 2\n";
  REQUIRE(::send(fd, line.data(), line.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(line.size()));
  *request = requests.Await();
  REQUIRE(SendListener(request->connection, listen_fd, "unix:/x").ok());
  absl::StatusOr<Received> r =
      ReceiveWithFds(fd, 512, absl::Now() + absl::Seconds(5));
  REQUIRE(r.ok());
  REQUIRE(r->bytes == "listener unix:/x\n");
  for (int received : r->fds) ::close(received);
  return fd;
}

TEST_CASE(
    "the old daemon lets go only on the new one's word: one that gives up "
    "before or after the drain, or stays silent, is never taken as a yes",
    "[handover]") {
  const std::string dir = TempStateDir();
  const std::string path = HandoverSocketPath(dir);
  Requests requests;
  auto door = OpenDoor(path, requests);
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  HandoverRequest r;
  const int fd = RawAsk(path, requests, pair[0], &r);
  SECTION("gone before the drain ended") {
    ::close(fd);
    REQUIRE(!OfferRelease(r.connection, absl::Now() + absl::Seconds(10)));
  }
  SECTION("silent after the drain") {
    REQUIRE(!OfferRelease(r.connection, absl::Now() + absl::Milliseconds(200)));
    ::close(fd);
  }
  SECTION("gone once it heard \"drained\"") {
    std::thread old_daemon([&] {
      REQUIRE(!OfferRelease(r.connection, absl::Now() + absl::Seconds(10)));
    });
    std::string got;
    char c = 0;
    while (got.find('\n') == std::string::npos &&
           ReadWithin(fd, &c, 1, absl::Now() + absl::Seconds(10))) {
      got.push_back(c);
    }
    ::close(fd);
    old_daemon.join();
    REQUIRE(got == "drained\n");
  }
  SECTION("anything but \"take\"") {
    const std::string no = "tak\n";
    REQUIRE(::send(fd, no.data(), no.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(no.size()));
    REQUIRE(!OfferRelease(r.connection, absl::Now() + absl::Seconds(10)));
    ::close(fd);
  }
  ::close(r.connection);
  ::close(pair[0]);
  ::close(pair[1]);
  fs::remove_all(dir);
}

TEST_CASE(
    "the hand-over door refuses a request that is not the protocol's line, "
    "and the new daemon reports an old one that refused",
    "[handover]") {
  const std::string dir = TempStateDir();
  const std::string path = HandoverSocketPath(dir);
  Requests requests;
  auto door = OpenDoor(path, requests);
  const std::string answer = RawExchange(path, "pitstop-handover 99\n");
  REQUIRE(answer.rfind("refused expected the line \"pitstop-handover 2\"", 0) ==
          0);
  {
    absl::MutexLock lock(&requests.mu);
    REQUIRE(!requests.last.has_value());
  }
  std::thread old_daemon([&] {
    const HandoverRequest r = requests.Await();
    SendRefusal(r.connection, "another pitstopd is taking over already");
    ::close(r.connection);
  });
  absl::StatusOr<Predecessor> p =
      Predecessor::Ask(path, absl::Now() + absl::Seconds(10));
  old_daemon.join();
  REQUIRE(p.status().code() == absl::StatusCode::kUnavailable);
  REQUIRE(p.status().message().find(
              "refused: another pitstopd is taking over already") !=
          std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE(
    "taking over where no daemon listens is FAILED_PRECONDITION naming the "
    "socket and what to do",
    "[handover]") {
  const std::string dir = TempStateDir();
  absl::StatusOr<Predecessor> p =
      Predecessor::Ask(HandoverSocketPath(dir), absl::Now() + absl::Seconds(5));
  REQUIRE(p.status().code() == absl::StatusCode::kFailedPrecondition);
  const std::string m(p.status().message());
  REQUIRE(m.find(HandoverSocketPath(dir)) != std::string::npos);
  REQUIRE(m.find("start without --take-over") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE(
    "the hand-over door refuses a process of another user even where the "
    "file modes would let it in",
    "[handover]") {
  if (::geteuid() != 0) {
    WARN("not run: needs root to connect as another user");
    return;
  }
  const std::string dir = TempStateDir();
  const std::string path = HandoverSocketPath(dir);
  Requests requests;
  auto door = OpenDoor(path, requests);
  ::chmod(dir.c_str(), 0755);
  ::chmod(fs::path(path).parent_path().c_str(), 0755);
  ::chmod(path.c_str(), 0666);
  int out[2];
  REQUIRE(::pipe(out) == 0);
  const pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls until _exit.
    ::close(out[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::_exit(3);
    }
    const char request[] = "pitstop-handover 2\n";
    // The door may have refused and closed already: no SIGPIPE.
    (void)::send(s, request, sizeof request - 1, MSG_NOSIGNAL);
    char buf[256];
    const ssize_t n = ::read(s, buf, sizeof buf);
    if (n > 0 && ::write(out[1], buf, static_cast<size_t>(n)) < 0) ::_exit(5);
    ::_exit(0);
  }
  ::close(out[1]);
  std::string answer;
  char buf[256];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE(answer == "refused only pitstopd's own user may take it over\n");
  {
    absl::MutexLock lock(&requests.mu);
    REQUIRE(!requests.last.has_value());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
