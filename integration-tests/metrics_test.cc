// pitstopd's Prometheus endpoint (docs/observability.md), scraped over a
// real socket as Prometheus would: the drivers' state and identity, the
// build, and the process family, in the text format.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// GET `path` from "127.0.0.1:PORT" over HTTP/1.1; the whole answer.
std::string Scrape(const std::string& address, const std::string& path) {
  int port = 0;
  REQUIRE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request =
      "GET " + path +
      " HTTP/1.1\r\nHost: pitstopd\r\nConnection: close\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[16384];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, n);
  ::close(fd);
  return answer;
}

// The metrics address from the daemon's "serving metrics" log line.
std::string MetricsAddress(Daemon& daemon) {
  REQUIRE(daemon.AwaitLog("msg=\"serving metrics\"", absl::Seconds(10)));
  const std::string log = daemon.Log();
  const size_t at = log.find("metrics_address=");
  REQUIRE(at != std::string::npos);
  const size_t start = at + 16;
  return log.substr(start, log.find_first_of(" \n", start) - start);
}

TEST_CASE(
    "metrics_listen serves the drivers' state, restarts and identity, the "
    "build and the process family in Prometheus' text format",
    "[integration][metrics]") {
  const std::string dir = MakeTempDir("pitstop-metrics");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderIn(dir);
  spec.config_yaml = "metrics_listen: 127.0.0.1:0\n";
  Daemon d(spec);
  const std::string address = MetricsAddress(d);

  const std::string page = Scrape(address, "/metrics");
  INFO(page);
  CHECK(absl::StartsWith(page, "HTTP/1.1 200"));
  CHECK(absl::StrContains(page, "text/plain; version=0.0.4"));
  for (const char* line : {
           "# TYPE pitstop_driver_state gauge\n",
           "pitstop_driver_state{driver=\"recorder\",state=\"READY\"} 1\n",
           "pitstop_driver_state{driver=\"recorder\",state=\"FAILED\"} 0\n",
           "pitstop_driver_restarts_total{driver=\"recorder\"} 0\n",
           "pitstop_driver_info{driver=\"recorder\",version=\"1.0.0\",",
           "pitstop_driver_instances{driver=\"recorder\",role=\"serving\"} 1\n",
           "pitstop_build_info{version=\"",
           "\nprocess_open_fds ",
           "\nprocess_resident_memory_bytes ",
       }) {
    CHECK(absl::StrContains(page, line));
  }
  // A crash and the restart policy's restart count.
  const int pid = d.GetDriver("recorder").pid();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  d.AwaitReady("recorder", pid);
  CHECK(absl::StrContains(
      Scrape(address, "/metrics"),
      "pitstop_driver_restarts_total{driver=\"recorder\"} 1\n"));
  CHECK(absl::StartsWith(Scrape(address, "/"), "HTTP/1.1 404"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
