#include "supervisor/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace pitstop {
namespace {

// One HTTP/1.1 request over a plain socket; the whole answer.
std::string Request(const std::string& address, const std::string& request) {
  const size_t colon = address.rfind(':');
  int port = 0;
  REQUIRE(absl::SimpleAtoi(address.substr(colon + 1), &port));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::send(fd, request.data(), request.size(), 0) ==
          static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, n);
  ::close(fd);
  return answer;
}

TEST_CASE(
    "the metrics listener serves GET /metrics in the text format, 404 "
    "elsewhere and 405 for other methods",
    "[metrics]") {
  int scrapes = 0;
  auto server = MetricsServer::Start("127.0.0.1:0", [&scrapes] {
    ++scrapes;
    return std::string("# TYPE up gauge\nup 1\n");
  });
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  CHECK(!absl::EndsWith(address, ":0"));

  const std::string ok = Request(
      address, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(absl::StartsWith(ok, "HTTP/1.1 200"));
  CHECK(absl::StrContains(
      ok, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  CHECK(absl::EndsWith(ok, "\r\n\r\n# TYPE up gauge\nup 1\n"));
  CHECK(scrapes == 1);

  const std::string missing = Request(
      address, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(absl::StartsWith(missing, "HTTP/1.1 404"));
  const std::string post =
      Request(address,
              "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
              "Connection: close\r\n\r\nabc");
  INFO(post);
  CHECK(absl::StartsWith(post, "HTTP/1.1 405"));
  CHECK(absl::StrContains(post, "Allow: GET, HEAD"));
  CHECK(scrapes == 1);
}

TEST_CASE("a metrics address that does not parse is refused, naming it",
          "[metrics]") {
  auto bad = MetricsServer::Start("localhost", [] { return std::string(); });
  REQUIRE(!bad.ok());
  CHECK(absl::StrContains(bad.status().message(), "'localhost'"));
}

}  // namespace
}  // namespace pitstop
