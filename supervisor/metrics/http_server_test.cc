#include "supervisor/metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"

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
    "the HTTP listener hands GET requests with their query and language to "
    "the handler and refuses other methods with 405",
    "[metrics]") {
  int calls = 0;
  auto server =
      HttpServer::Start("127.0.0.1:0", [&calls](const HttpRequest& r) {
        ++calls;
        HttpResponse out;
        out.content_type = kPrometheusContentType;
        out.body = r.path + " a=" + r.Arg("a") + " lang=" + r.accept_language +
                   " missing=" + r.Arg("missing") + "\n";
        return out;
      });
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  CHECK(!absl::EndsWith(address, ":0"));

  const std::string ok =
      Request(address,
              "GET /metrics?a=x%20y HTTP/1.1\r\nHost: x\r\n"
              "Accept-Language: de-DE,de;q=0.9\r\nConnection: close\r\n\r\n");
  INFO(ok);
  CHECK(absl::StartsWith(ok, "HTTP/1.1 200"));
  CHECK(absl::StrContains(
      ok, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
  CHECK(absl::StrContains(ok, "Content-Security-Policy: default-src 'self'"));
  CHECK(absl::EndsWith(ok,
                       "\r\n\r\n/metrics a=x y lang=de-DE,de;q=0.9 "
                       "missing=\n"));
  CHECK(calls == 1);

  const std::string post =
      Request(address,
              "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
              "Connection: close\r\n\r\nabc");
  INFO(post);
  CHECK(absl::StartsWith(post, "HTTP/1.1 405"));
  CHECK(absl::StrContains(post, "Allow: GET, HEAD"));
  CHECK(calls == 1);
}

TEST_CASE("a request the handler holds does not hold up another one",
          "[metrics]") {
  absl::Notification release;
  auto server =
      HttpServer::Start("127.0.0.1:0", [&release](const HttpRequest& r) {
        if (r.path == "/wait") release.WaitForNotification();
        HttpResponse out;
        out.body = r.path;
        return out;
      });
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  std::string held;
  std::thread waiting([&] {
    held = Request(
        address, "GET /wait HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  });
  const std::string quick = Request(
      address, "GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(absl::EndsWith(quick, "/now"));
  release.Notify();
  waiting.join();
  CHECK(absl::EndsWith(held, "/wait"));
}

TEST_CASE("a listen address that does not parse is refused, naming it",
          "[metrics]") {
  auto bad = HttpServer::Start(
      "localhost", [](const HttpRequest&) { return HttpResponse(); });
  REQUIRE(!bad.ok());
  CHECK(absl::StrContains(bad.status().message(), "'localhost'"));
}

}  // namespace
}  // namespace pitstop
