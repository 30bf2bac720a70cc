#include "supervisor/repo/fetcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// A one-connection HTTP server on a free loopback port that answers with
// `headers`, then `body`, then (when `endless`) zeros until the client
// hangs up, or (otherwise) holds the connection open until destroyed.
class HostileServer {
 public:
  HostileServer(std::string headers, std::string body, bool endless,
                std::function<void()> after_headers = {})
      : headers_(std::move(headers)),
        body_(std::move(body)),
        endless_(endless),
        after_headers_(std::move(after_headers)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr),
                   sizeof addr) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HostileServer() {
    done_.Notify();
    thread_.join();
    ::close(listener_);
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/x.car");
  }

 private:
  // Waits for `fd` to be ready for `events`, or for the test to end.
  bool Ready(int fd, short events) {
    while (!done_.HasBeenNotified()) {
      pollfd p{fd, events, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  void Serve() {
    if (!Ready(listener_, POLLIN)) return;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && Ready(fd, POLLIN)) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, n);
    }
    const std::string head = headers_ + "\r\n" + body_;
    (void)::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    if (after_headers_) after_headers_();
    if (endless_) {
      const std::string zeros(65536, '\0');
      while (Ready(fd, POLLOUT) &&
             ::send(fd, zeros.data(), zeros.size(), MSG_NOSIGNAL) > 0) {
      }
    } else {
      Ready(-1, 0);  // until the test ends
    }
    ::close(fd);
  }

  const std::string headers_;
  const std::string body_;
  const bool endless_;
  const std::function<void()> after_headers_;
  int listener_ = -1;
  int port_ = 0;
  absl::Notification done_;
  std::thread thread_;
};

TEST_CASE("a server that never stops sending is cut off at the byte cap",
          "[repo]") {
  HostileServer server("HTTP/1.1 200 OK\r\n", "", /*endless=*/true);
  const absl::Time start = absl::Now();
  auto body = FetchToString(server.url(), FetchLimits{1 << 20});
  REQUIRE(absl::IsResourceExhausted(body.status()));
  REQUIRE(body.status().message().find("more than the 1048576 bytes") !=
          std::string::npos);
  REQUIRE(absl::Now() - start < absl::Seconds(10));
}

TEST_CASE("an announced length above the cap is refused before the body",
          "[repo]") {
  HostileServer server("HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n", "",
                       /*endless=*/false);
  auto body = FetchToString(server.url(), FetchLimits{1000});
  REQUIRE(absl::IsResourceExhausted(body.status()));
}

TEST_CASE("a server that stalls runs into the stall timeout", "[repo]") {
  HostileServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n", "abc",
                       /*endless=*/false);
  FetchLimits limits;
  limits.stall_timeout = absl::Seconds(1);
  const absl::Time start = absl::Now();
  auto body = FetchToString(server.url(), limits);
  REQUIRE(absl::IsDeadlineExceeded(body.status()));
  REQUIRE(body.status().message().find(server.url()) != std::string::npos);
  REQUIRE(absl::Now() - start < absl::Seconds(10));
}

TEST_CASE("a cancelled download stops", "[repo]") {
  std::atomic<bool> cancelled{false};
  // Cancelled once the transfer is under way, as at a daemon's shutdown.
  HostileServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n", "abc",
                       /*endless=*/false, [&] { cancelled = true; });
  FetchLimits limits;
  limits.cancelled = &cancelled;
  const absl::Time start = absl::Now();
  auto body = FetchToString(server.url(), limits);
  REQUIRE(absl::IsCancelled(body.status()));
  REQUIRE(absl::Now() - start < absl::Seconds(10));
}

TEST_CASE("HTTP errors and missing files are named with their URL", "[repo]") {
  HostileServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n", "",
                       /*endless=*/false);
  auto body = FetchToString(server.url(), FetchLimits{});
  REQUIRE(absl::IsNotFound(body.status()));
  REQUIRE(body.status().message().find(server.url()) != std::string::npos);
  auto missing =
      FetchToString("file:///nonexistent/pitstop-index", FetchLimits{});
  REQUIRE(absl::IsNotFound(missing.status()));
  REQUIRE(absl::IsInvalidArgument(
      FetchToString("gopher://x/y", FetchLimits{}).status()));
}

TEST_CASE("a partial download resumes from where it stopped", "[repo]") {
  std::string t = (fs::temp_directory_path() / "pitstop-fetch-XXXXXX").string();
  const fs::path dir = ::mkdtemp(t.data());
  const std::string content(100000, 'x');
  std::ofstream(dir / "src", std::ios::binary) << content;
  std::ofstream(dir / "dst", std::ios::binary) << content.substr(0, 1234);
  auto size = FetchToFile("file://" + (dir / "src").string(),
                          (dir / "dst").string(), FetchLimits{200000},
                          /*resume=*/true);
  REQUIRE(size.ok());
  REQUIRE(*size == content.size());
  std::ifstream in(dir / "dst", std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(got == content);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
