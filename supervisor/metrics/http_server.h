#ifndef PITSTOP_SUPERVISOR_METRICS_HTTP_SERVER_H_
#define PITSTOP_SUPERVISOR_METRICS_HTTP_SERVER_H_

// pitstopd's HTTP/1.1 listener (metrics_listen): Prometheus' /metrics and
// the web console, both read-only. GET and HEAD go to the handler; any
// other method is 405 with its body unread. libmicrohttpd, a thread per
// connection (a console's long poll waits without holding up a scrape), at
// most 32 connections, each closed after 30 s idle; requests over 16 KiB
// of headers are refused by libmicrohttpd itself.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace pitstop {

struct HttpRequest {
  std::string path;  // "/api/v1/drivers", without the query
  // The query's arguments, decoded, in order.
  std::vector<std::pair<std::string, std::string>> query;
  std::string accept_language;  // the header, "" when absent
  std::string host;             // the Host header, "" when absent

  // The first value of `key`, or "".
  std::string Arg(const std::string& key) const;
};

struct HttpResponse {
  unsigned int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  // Runs on the connection's thread; may block (a long poll), briefly.
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Serves on "host:port" (an IPv4 address; port 0 picks one).
  // INVALID_ARGUMENT for an address that does not parse, UNAVAILABLE when
  // it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& address, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "127.0.0.1:9464", the port picked filled in.
  const std::string& address() const { return address_; }

  // The handler's answer (any thread of the server's).
  HttpResponse Handle(const HttpRequest& request) const {
    return handler_(request);
  }

 private:
  explicit HttpServer(Handler handler) : handler_(std::move(handler)) {}

  const Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
  std::string address_;
};

// Prometheus' text format's content type.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_METRICS_HTTP_SERVER_H_
