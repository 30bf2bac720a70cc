#ifndef PITSTOP_SUPERVISOR_RPC_ROUTED_CALL_H_
#define PITSTOP_SUPERVISOR_RPC_ROUTED_CALL_H_

// One stream from a client, as the router sees it: a routed call (to a
// driver) or a passed-through one (to the in-process server). A routed call
// moves through its phases in order:
//
//   kReceiving --request complete--> kRouting --route--> kForwarding
//   kForwarding --attempt ended, retry--> kRouting
//   any phase --answer submitted--> kResponding
//
// Each try to reach a driver is an Attempt, started fresh. Plain data, owned
// by the router's loop.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pitstop/driver/v1/context.pb.h"
#include "supervisor/core/call_stats.h"
#include "supervisor/core/route_source.h"
#include "supervisor/rpc/connections.h"
#include "supervisor/rpc/error_details.h"
#include "supervisor/rpc/event_loop.h"
#include "supervisor/rpc/http2_connection.h"

namespace pitstop {

// gRPC status codes the router produces itself.
enum GrpcCode : int {
  kCancelled = 1,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kPermissionDenied = 7,
  kFailedPrecondition = 9,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

// A call's forwarded stream and what came back on it.
struct Attempt {
  Connection* up = nullptr;
  int32_t up_stream = 0;
  bool up_started = false;
  bool up_closed = false;
  uint32_t up_error = 0;
  bool up_lost = false;  // its connection broke
  std::string up_lost_reason;
  bool up_refused = false;  // never reached the driver
  bool up_goaway = false;   // closed unprocessed by the driver's GOAWAY
  bool up_headers_sent = false;
  size_t request_sent = 0;  // of the call's request_body
  Headers response_headers;
  bool response_headers_done = false;
  bool trailers_only = false;
  std::string response_body;
  size_t response_sent = 0;
  bool response_too_large = false;
  size_t header_bytes = 0;  // of its response headers and trailers
  Headers trailers;
  bool trailers_done = false;
};

struct Call {
  enum class Phase { kReceiving, kRouting, kForwarding, kResponding };

  uint64_t id = 0;
  Connection* client = nullptr;
  int32_t client_stream = 0;
  bool classified = false;
  bool routed = false;
  bool counted = false;  // in the router's in-flight count
  bool scheduled = false;
  bool client_closed = false;
  Phase phase = Phase::kReceiving;
  Attempt attempt;

  // The request, from the client.
  Headers request_headers;
  bool headers_done = false;
  std::string request_body;
  bool request_complete = false;
  bool too_large = false;  // the request
  // Its connection, or all of them, hold too many routed request bytes
  // (ListenerLimits): the bytes of routed requests go back to the client's
  // window as they arrive, so this is what bounds the memory clients can
  // make the daemon hold.
  bool over_connection_budget = false;
  bool over_global_budget = false;
  size_t buffered = 0;      // counted in its connection's and the router's
  absl::Time started;       // its first headers arrived
  size_t header_bytes = 0;  // of its request headers, as RFC 9113 counts
  bool headers_too_large = false;
  bool timed_out_arriving = false;  // ListenerLimits::request_timeout
  bool response_submitted = false;
  bool reset_after_response = false;  // the request was not complete

  // Routing.
  std::string method;
  size_t method_index = 0;  // of a routed one, in CallStats
  std::string driver;
  DriverCategory category = DriverCategory::kStorage;
  pitstop::driver::v1::CallContext context;
  std::string resource;  // "type/id"; empty when the call names none
  absl::Time deadline = absl::InfiniteFuture();  // the caller's
  absl::Time forward_deadline = absl::InfiniteFuture();
  std::optional<EventLoop::TimerHandle> timer;  // while forwarding
  std::optional<absl::StatusOr<Route>> pending_route;
  Route route;
  bool validated = false;
  int connect_retries = 0;
  bool resent_after_loss = false;
  bool cancelled_by_drain = false;
  bool timed_out = false;

  // What it is counted as (FrameRouterOptions::call_stats): the version it
  // was routed to (null: none), and the code its answer carries (-1 until
  // answered; a call the client gave up on is CANCELLED).
  VersionCalls* stats = nullptr;
  int code = -1;
  bool call_counted = false;

  // The machine-readable half of an answer the router makes itself
  // (error_details.h): its reason, and the bag's problems.
  ErrorDetails error;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ROUTED_CALL_H_
