#ifndef PITSTOP_SUPERVISOR_METRICS_METRICS_SERVER_H_
#define PITSTOP_SUPERVISOR_METRICS_METRICS_SERVER_H_

// The HTTP/1.1 listener Prometheus scrapes (metrics_listen): GET /metrics
// answers what `collect` writes, in the text format 0.0.4; any other path
// is 404, any other method 405. libmicrohttpd, one thread of its own, at
// most 16 connections, each closed after 10 s idle: a scraper, not a crowd.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct MHD_Daemon;

namespace pitstop {

class MetricsServer {
 public:
  using Collect = std::function<std::string()>;
  // Serves on "host:port" (an IPv4 address; port 0 picks one).
  // INVALID_ARGUMENT for an address that does not parse, UNAVAILABLE when
  // it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& address, Collect collect);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "127.0.0.1:9464", the port picked filled in.
  const std::string& address() const { return address_; }

 private:
  explicit MetricsServer(Collect collect) : collect_(std::move(collect)) {}

 public:
  // The scrape: what `collect` writes (any thread of the server's).
  std::string Collected() const { return collect_(); }

 private:
  const Collect collect_;
  MHD_Daemon* daemon_ = nullptr;
  std::string address_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_METRICS_METRICS_SERVER_H_
