#ifndef PITSTOP_SUPERVISOR_CONSOLE_CONSOLE_H_
#define PITSTOP_SUPERVISOR_CONSOLE_CONSOLE_H_

// The web console on pitstopd's HTTP listener (docs/observability.md,
// "Web console"): its page and scripts, compiled into the binary (no CDN,
// works air-gapped), and a small read-only JSON API that is a view of the
// admin API in protobuf's JSON mapping:
//
//   GET /api/v1/drivers           ListDrivers (labels in Accept-Language)
//   GET /api/v1/drivers/NAME      GetDriver
//   GET /api/v1/stats             GetDriverStats, every driver, 10 s
//   GET /api/v1/drivers/NAME/stats  GetDriverStats, 300 s, second by second
//   GET /api/v1/order             GetStartOrder
//   GET /api/v1/updates           ListUpdates (no refresh)
//   GET /api/v1/events?after=N&driver=NAME&wait=S
//                                 {"events": [...], "last": N}: the events
//                                 after N (the last 100 without it),
//                                 waiting up to S (<= 25) seconds for one
//
// Nothing here acts: every path is a GET, answered from the same calls an
// admin client with the viewer role makes. Thread-safe.

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/core/event_log.h"
#include "supervisor/metrics/http_server.h"
#include "supervisor/rpc/admin_service.h"

namespace pitstop {

// Whether the console answers a request with this Host header: an IP
// address (v4, or v6 in brackets), "localhost", or one of `names` (the
// config's console_hosts), each with or without a port. Anything else is
// refused: a web page whose name an attacker's DNS points at 127.0.0.1
// (DNS rebinding) must not read the console from a browser on this host.
bool ConsoleHostAllowed(const std::string& host,
                        const std::vector<std::string>& names);

// "de-DE,de;q=0.9,en;q=0.8" -> "de_DE": the first language, as a bundle's
// locale; "" for none, "*", or anything that is not letters, '-' and '_'.
std::string LocaleFromAcceptLanguage(const std::string& header);

class Console {
 public:
  // Both outlive the console.
  Console(AdminService& admin, EventLog& events,
          std::vector<std::string> hosts = {})
      : admin_(admin), events_(events), hosts_(std::move(hosts)) {}

  // Any path but /metrics.
  HttpResponse Handle(const HttpRequest& request) const;

  // Ends the long polls within 250 ms and answers new ones at once: call
  // before stopping the HTTP server, which waits for its handlers.
  void Shutdown() { stopping_ = true; }

 private:
  HttpResponse Api(const HttpRequest& request) const;
  HttpResponse Driver(const std::string& name, const std::string& rest,
                      const HttpRequest& request) const;
  HttpResponse Events(const HttpRequest& request) const;

  AdminService& admin_;
  EventLog& events_;
  const std::vector<std::string> hosts_;
  std::atomic<bool> stopping_{false};
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CONSOLE_CONSOLE_H_
