#ifndef PITSTOP_SUPERVISOR_RPC_FRAME_ROUTER_H_
#define PITSTOP_SUPERVISOR_RPC_FRAME_ROUTER_H_

// FrameRouter is pitstopd's listener. It speaks HTTP/2 itself (nghttp2) on
// the daemon's address and, on one event-loop thread:
//
// - routes every call of the category services of pitstop.driver.v1
//   (storage, network, hypervisor) to a driver without running gRPC's call
//   stack: it reads the driver's name from the `pitstop-driver` header and
//   the CallContext (field 1) from the request message, asks the Supervisor
//   for a READY instance (waiting, without holding the thread, up to the
//   call's deadline), checks the property bag against the driver's schema
//   (INVALID_ARGUMENT listing every violation), and sends the request bytes
//   on one of the instance's HTTP/2 connections, unchanged but for the
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
// terminating each call in gRPC's C++ stack twice.
//
// Lifecycle: Listen, Start (with the backend server built and started),
// then BeginShutdown, AwaitIdle, the backend's Shutdown, and Stop.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/core/supervisor.h"

namespace grpc {
class Server;
}

namespace pitstop {

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
};

class FrameRouter {
 public:
  FrameRouter(Supervisor& supervisor, FrameRouterOptions options);
  ~FrameRouter();
  FrameRouter(const FrameRouter&) = delete;
  FrameRouter& operator=(const FrameRouter&) = delete;

  // Binds and listens on "unix:/absolute/path" or "host:port" (port 0
  // picks a free one). A Unix socket file left by a daemon that is gone is
  // replaced; one that still accepts connections is FAILED_PRECONDITION.
  // Returns the address as clients reach it (the picked port filled in).
  absl::StatusOr<std::string> Listen(const std::string& address);

  // Starts the event loop; passed-through streams go to `backend`, which
  // must outlive Stop.
  void Start(grpc::Server* backend);

  // Refuses new routed calls with UNAVAILABLE from now on.
  void BeginShutdown() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until no routed call is in flight or `deadline` passes; true when
  // idle.
  bool AwaitIdle(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // Closes every connection and joins the loop. Call after the backend's
  // Shutdown and after the supervisor has answered every parked call
  // (StopAll).
  void Stop();

  class Loop;  // the event loop's state; frame_router.cc

 private:
  friend class Loop;
  bool CallStarted() ABSL_LOCKS_EXCLUDED(mu_);
  void CallEnded() ABSL_LOCKS_EXCLUDED(mu_);

  // Constant after construction
  Supervisor& supervisor_;
  const FrameRouterOptions options_;
  // "/pitstop.driver.v1.StorageService/CreateVolume" -> storage, for every
  // method of the three category services; and each category's service.
  std::map<std::string, DriverCategory> methods_;
  std::map<DriverCategory, std::string> services_;

  // Touched only by the thread that owns the router, and by the loop once
  // started.
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int listen_fd_ = -1;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_FRAME_ROUTER_H_
