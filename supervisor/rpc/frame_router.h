#ifndef PITSTOP_SUPERVISOR_RPC_FRAME_ROUTER_H_
#define PITSTOP_SUPERVISOR_RPC_FRAME_ROUTER_H_

// FrameRouter is pitstopd's listener. It speaks HTTP/2 itself (nghttp2) on
// the daemon's address and, on one event-loop thread:
//
// - routes every call of the category services of pitstop.driver.v1
//   (storage, network, hypervisor) to a driver without running gRPC's call
//   stack: it reads the driver's name from the `pitstop-driver` header and
//   the CallContext (field 1) from the request message, asks the RouteSource
//   (the Supervisor) for a READY instance (waiting, without holding the thread,
//   up to the call's deadline), checks the property bag against the driver's
//   schema (INVALID_ARGUMENT listing every violation), and sends the request
//   bytes on one of the instance's HTTP/2 connections, unchanged but for the
//   validated bag appended as a second field 1 when defaults or conversions
//   changed it. The driver's response headers, message and trailers go back
//   as they came.
// - passes every other stream (the admin service, grpc.health.v1, server
//   reflection) frame by frame to the in-process gRPC `backend` server, over
//   one socketpair per client connection, with flow control end to end.
//
// A call that could not reach an instance (connection refused, or a stream
// the driver refused unprocessed) is sent again, to the replacement
// instance, at most twice. A call whose connection broke while it ran is
// sent once more only when it carries an operation id, which drivers must
// apply at most once; otherwise it fails with UNAVAILABLE naming the driver.
// Every forwarded call has a deadline: the caller's, cut to the driver's
// timeouts.call, or the daemon's default when the caller set none.
//
// docs/performance.md says why the daemon forwards frames instead of
// terminating each call in gRPC's C++ stack twice; docs/architecture.md
// shows the layers (router_loop.h and what it owns).
//
// Lifecycle: Listen (or ListenOn), Start (with the backend server built and
// started), then BeginShutdown, AwaitIdle, the backend's Shutdown, and Stop;
// or, handing over to the next daemon, GoAway, AwaitIdle, AwaitNoClients,
// the backend's Shutdown, and Stop.
// Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/common/check.h"
#include "supervisor/core/call_stats.h"
#include "supervisor/core/route_source.h"
#include "supervisor/rpc/access_policy.h"
#include "supervisor/rpc/call_gate.h"
#include "supervisor/rpc/listener_limits.h"

namespace grpc {
class Server;
}

namespace pitstop {

class RouterLoop;
class TlsServerContext;
class AuditQueue;

// The metadata key that names the driver a routed call is for.
inline constexpr char kDriverMetadataKey[] = "pitstop-driver";

struct FrameRouterOptions {
  // For calls whose caller set no deadline.
  absl::Duration default_call_timeout = absl::Seconds(30);
  // HTTP/2 connections opened to each driver instance, used in turn: the
  // driver's gRPC server handles one connection's frames at a time.
  int connections_per_instance = 2;
  // Largest request or response message of a routed call.
  size_t max_message_bytes = 64 << 20;
  // What clients may make the router spend.
  ListenerLimits limits;
  // Who may do what; null lets every client do everything (tests of the
  // router alone).
  std::shared_ptr<const AccessPolicy> access;
  // TLS for TCP clients (mutual: they present certificates); null for none.
  // A Unix socket's clients never use it.
  std::shared_ptr<const TlsServerContext> tls;
  // Where the admin calls it refuses (PERMISSION_DENIED) go on the audit
  // trail; null for none. Outlives the router.
  AuditQueue* audit = nullptr;
  // Where each routed call's code and duration are counted (metrics, `pitstop
  // top`); null for not at all. Made with RoutedMethodNames(); outlives the
  // router.
  CallStats* call_stats = nullptr;
};

// A method of the three category services: its category, and its number
// in CallStats.
struct RoutedMethod {
  DriverCategory category = DriverCategory::kStorage;
  size_t index = 0;
};
// "/pitstop.driver.v1.StorageService/CreateVolume" -> storage, for every
// method of the three category services, numbered in the map's order.
using MethodTable = std::map<std::string, RoutedMethod>;
MethodTable RoutedMethods();
// The routed methods' paths by number.
std::vector<std::string> RoutedMethodNames();

class FrameRouter {
 public:
  FrameRouter(RouteSource& routes, FrameRouterOptions options);
  ~FrameRouter();
  FrameRouter(const FrameRouter&) = delete;
  FrameRouter& operator=(const FrameRouter&) = delete;

  // Binds and listens on "unix:/absolute/path" or "host:port" (port 0
  // picks a free one). A Unix socket file left by a daemon that is gone is
  // replaced; one that still accepts connections is FAILED_PRECONDITION.
  // Returns the address as clients reach it (the picked port filled in).
  absl::StatusOr<std::string> Listen(const std::string& address);

  // Serves on a listening socket made elsewhere (handed over by the daemon
  // this one replaces, or by systemd), which it owns from now on.
  void ListenOn(int fd) {
    CHECK(listen_fd_ < 0 && fd >= 0);
    listen_fd_ = fd;
  }
  // The listening socket (for a hand-over); -1 before Listen.
  int listen_fd() const { return listen_fd_; }

  // Starts the event loop; passed-through streams go to `backend`, which
  // must outlive Stop.
  void Start(grpc::Server* backend);

  // Refuses new routed calls with UNAVAILABLE from now on.
  void BeginShutdown() { gate_.Close(); }
  // Blocks until no routed call is in flight or `deadline` passes; true when
  // idle.
  bool AwaitIdle(absl::Time deadline) { return gate_.AwaitIdle(deadline); }
  // For a hand-over: stops accepting (connections wait in the listening
  // socket's backlog for the next daemon) and sends every client
  // connection GOAWAY, so its gRPC library opens new streams on a new
  // connection while the streams it has finish here. Returns once done.
  void GoAway();
  // Accepts again after GoAway (the hand-over was abandoned).
  void ResumeAccepting();
  // Returns once the loop has run a task: it is not stuck (the watchdog).
  void Ping();
  // Blocks until every client connection has closed or `deadline` passes;
  // true when none is left.
  bool AwaitNoClients(absl::Time deadline) {
    return gate_.AwaitNoClients(deadline);
  }
  // Closes every connection and joins the loop. Call after the backend's
  // Shutdown and after the route source has answered every parked call
  // (StopAll).
  void Stop();

 private:
  // Constant after construction
  RouteSource& routes_;
  const FrameRouterOptions options_;
  const MethodTable methods_;

  // Touched only by the thread that owns the router; the loop is the loop
  // thread's once started.
  std::unique_ptr<RouterLoop> loop_;
  std::thread thread_;
  int listen_fd_ = -1;

  CallGate gate_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_FRAME_ROUTER_H_
