#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/common/quoted.h"
#include "supervisor/rpc/call_context_reader.h"
#include "supervisor/rpc/grpc_wire.h"
#include "supervisor/rpc/retry_decision.h"
#include "supervisor/rpc/router_loop.h"

// A routed call's phases (routed_call.h): the request is read, a route is
// asked for, the call is forwarded as one attempt after another until one is
// answered or DecideRetry gives up, and the answer (or the router's own) is
// submitted to the caller.

namespace pitstop {

namespace v1 = pitstop::driver::v1;

void RouterLoop::AdvanceRouted(Call* call) {
  switch (call->phase) {
    case Call::Phase::kReceiving:
      if (call->too_large) {
        call->error.reason = "REQUEST_TOO_LARGE";
        Respond(call, kResourceExhausted,
                absl::StrCat("the request is larger than pitstopd's limit "
                             "of ",
                             options_.max_message_bytes, " bytes"));
        return;
      }
      if (call->over_connection_budget) {
        call->error.reason = "CONNECTION_BUSY";
        Respond(call, kResourceExhausted,
                absl::StrCat("this connection already has ",
                             options_.limits.max_buffered_per_connection >> 20,
                             " MiB of requests in flight; wait for some "
                             "to finish or use another connection"));
        return;
      }
      if (call->over_global_budget) {
        call->error.reason = "DAEMON_BUSY";
        Respond(call, kResourceExhausted,
                absl::StrCat("pitstopd already holds ",
                             options_.limits.max_buffered_bytes >> 20,
                             " MiB of routed requests from all clients; "
                             "retry later"));
        return;
      }
      if (call->request_complete) OnRequest(call);
      return;
    case Call::Phase::kRouting:
      if (call->pending_route.has_value()) {
        absl::StatusOr<Route> route = std::move(*call->pending_route);
        call->pending_route.reset();
        OnRoute(call, std::move(route));
      }
      return;
    case Call::Phase::kForwarding:
      if (call->attempt.up_closed) OnForwarded(call);
      return;
    case Call::Phase::kResponding:
      return;
  }
}

void RouterLoop::OnRequest(Call* call) {
  const std::string* driver =
      FindHeader(call->request_headers, kDriverMetadataKey);
  if (driver == nullptr || driver->empty()) {
    call->error.reason = "DRIVER_NOT_NAMED";
    Respond(call, kInvalidArgument,
            absl::StrCat("missing gRPC metadata key '", kDriverMetadataKey,
                         "' naming the driver to call (e.g. flashpool)"));
    return;
  }
  call->driver = *driver;
  if (options_.access != nullptr &&
      !options_.access->MayRoute(call->client->identity, call->driver)) {
    call->error.reason = "NOT_A_CALLER";
    Respond(call, kPermissionDenied,
            absl::StrCat(call->client->identity.Describe(),
                         " may not route calls to driver ", Quoted(*driver),
                         ": add it to `callers` in pitstopd.yaml "
                         "(docs/security.md)"));
    return;
  }
  std::optional<GrpcMessage> message = SplitUnaryBody(call->request_body);
  if (!message.has_value()) {
    call->error.reason = "BAD_REQUEST_MESSAGE";
    Respond(call, kInvalidArgument,
            call->request_body.empty()
                ? "the call carried no request message"
                : "a unary call must carry exactly one request message");
    return;
  }
  if (message->compressed) {
    // The spec's answer to an encoding the server does not take.
    call->error.reason = "COMPRESSED_REQUEST";
    Respond(call, kUnimplemented,
            "pitstopd takes uncompressed requests only (grpc-encoding "
            "identity); turn compression off for calls to drivers");
    return;
  }
  if (absl::Status s = ReadCallContext(message->bytes, &call->context);
      !s.ok()) {
    Respond(call, s);
    return;
  }
  if (!call->context.resource().id().empty()) {
    call->resource = absl::StrCat(call->context.resource().type(), "/",
                                  call->context.resource().id());
  }
  Acquire(call, 0);
}

void RouterLoop::Acquire(Call* call, uint64_t avoid_instance) {
  call->phase = Call::Phase::kRouting;
  RouteRequest request;
  request.driver = call->driver;
  request.resource = call->resource;
  request.resource_type = call->context.resource().type();
  request.category = call->category;
  request.deadline = call->deadline;
  request.avoid_instance = avoid_instance;
  const uint64_t id = call->id;
  // The answer comes at once on this thread, or later on the route
  // source's.
  routes_.AcquireRoute(std::move(request), [this, mailbox = loop_.mailbox(),
                                            id](absl::StatusOr<Route> route) {
    if (mailbox->checker().CalledOnLoopThread()) {
      RouteArrived(id, std::move(route));
      return;
    }
    auto shared = std::make_shared<absl::StatusOr<Route>>(std::move(route));
    mailbox->Post([this, id, shared] { RouteArrived(id, std::move(*shared)); });
  });
}

void RouterLoop::RouteArrived(uint64_t id, absl::StatusOr<Route> route) {
  Call* call = FindCall(id);
  if (call == nullptr) return;  // the caller went away; the lease ends
  call->pending_route = std::move(route);
  Schedule(call);
}

void RouterLoop::OnRoute(Call* call, absl::StatusOr<Route> route) {
  if (!route.ok()) {
    Respond(call, route.status());
    return;
  }
  const DriverManifest& m = route->package->manifest;
  // Again against the routed instance's own manifest: resource types may
  // differ between versions.
  if (absl::Status s = CheckCallFits(m, call->driver, call->category,
                                     call->context.resource().type());
      !s.ok()) {
    Respond(call, s);
    return;
  }
  if (!call->validated) {
    // The bag is checked once, before the first attempt.
    call->validated = true;
    ValidatedBag bag = ValidatePropertyBag(m, call->context.properties());
    if (!bag.violations.empty()) {
      call->error.reason = "INVALID_PROPERTIES";
      // As many as the message lists (ViolationsStatus): bounded.
      for (const PropertyViolation& v : bag.violations) {
        if (call->error.field_violations.size() == 20) break;
        call->error.field_violations.emplace_back(
            absl::StrCat("context.properties.", v.key), v.message);
      }
      Respond(call, ViolationsStatus(call->driver, bag.violations));
      return;
    }
    if (bag.changed) AppendProperties(call, std::move(bag.properties));
  }
  call->route = *std::move(route);
  // Counted against the version from here on: the daemon's own refusals
  // above are unrouted calls.
  if (options_.call_stats != nullptr) call->stats = StatsFor(call->route);
  SetForwardDeadline(call, m);
  Forward(call);
}

void RouterLoop::SetForwardDeadline(Call* call, const DriverManifest& m) {
  const absl::Time now = absl::Now();
  const absl::Time cap = now + m.timeouts.call;
  call->forward_deadline =
      call->deadline == absl::InfiniteFuture()
          ? std::min(cap, now + options_.default_call_timeout)
          : std::min(call->deadline, cap);
}

// Hands the driver the validated bag without re-encoding the request:
// a second occurrence of field 1 merges into the first, and a repeated map
// key replaces the earlier value (the protobuf rule for maps).
void RouterLoop::AppendProperties(Call* call, PropertyBag properties) {
  // Any operation request serializes as its field 1 alone here.
  v1::DeleteVolumeRequest patch;
  *patch.mutable_context()->mutable_properties() = std::move(properties);
  std::string message(SplitUnaryBody(call->request_body)->bytes);
  message += patch.SerializeAsString();
  call->request_body = FrameMessage(message);
}

// The attempt ends before anything reached the driver.
void RouterLoop::Refused(Call* call, std::string reason) {
  call->attempt.up_closed = true;
  call->attempt.up_refused = true;
  call->attempt.up_lost_reason = std::move(reason);
  Schedule(call);
}

void RouterLoop::Forward(Call* call) {
  call->attempt = Attempt();
  call->phase = Call::Phase::kForwarding;
  std::string error;
  Connection* conn = pool_.Pick(call->route, &error);
  if (conn == nullptr) {
    Refused(call, std::move(error));
    return;
  }
  const std::string* content_type =
      FindHeader(call->request_headers, "content-type");
  Headers headers = {
      {":method", "POST"},
      {":scheme", "http"},
      {":path", call->method},
      {":authority", "localhost"},
      {"te", "trailers"},
      {"content-type",
       content_type != nullptr ? *content_type : "application/grpc"},
      {"grpc-timeout",
       FormatGrpcTimeout(call->forward_deadline - absl::Now())}};
  // None of the caller's own metadata: it is meant for the daemon (it may
  // carry credentials), and a driver is not trusted with it. What a driver
  // needs travels in the CallContext.
  std::vector<nghttp2_nv> nva = NvList(headers);
  nghttp2_data_provider body = RequestBody(call);
  const int32_t stream = nghttp2_submit_request(
      conn->session, nullptr, nva.data(), nva.size(), &body, UserData(call));
  if (stream < 0) {
    // Stream ids ran out: this connection takes no more calls, and ends
    // once its streams have.
    conn->going_away = true;
    nghttp2_session_terminate_session(conn->session, NGHTTP2_NO_ERROR);
    connections_.MarkDirty(conn);
    Refused(call, nghttp2_strerror(stream));
    return;
  }
  call->attempt.up = conn;
  call->attempt.up_stream = stream;
  call->attempt.up_started = true;
  conn->calls.insert(call->id);
  connections_.MarkDirty(conn);
  call->timer = loop_.AddTimer(call->forward_deadline, call->id);
  WatchDrain(call);
}

// A replaced instance that does not drain in time gives its calls up.
void RouterLoop::WatchDrain(Call* call) {
  const uint64_t id = call->id;
  call->route.lease->SetCancel([this, mailbox = loop_.mailbox(), id] {
    mailbox->Post([this, id] {
      Call* c = FindCall(id);
      if (c == nullptr || c->phase != Call::Phase::kForwarding ||
          c->attempt.up == nullptr) {
        return;
      }
      c->cancelled_by_drain = true;
      AbandonForward(c);
    });
  });
}

// Resets the forwarded stream; the call then answers for itself.
void RouterLoop::AbandonForward(Call* call) {
  Connection* conn = call->attempt.up;
  if (conn == nullptr) return;
  // Frames still coming on it find no call: StreamCall checks the stream.
  nghttp2_submit_rst_stream(conn->session, NGHTTP2_FLAG_NONE,
                            call->attempt.up_stream, NGHTTP2_CANCEL);
  conn->calls.erase(call->id);
  connections_.MarkDirty(conn);
  call->attempt.up = nullptr;
  call->attempt.up_closed = true;
  call->attempt.up_error = NGHTTP2_CANCEL;
  Schedule(call);
}

void RouterLoop::CancelTimer(Call* call) {
  if (!call->timer.has_value()) return;
  loop_.CancelTimer(*call->timer);
  call->timer.reset();
}

void RouterLoop::ReleaseLease(Call* call) {
  if (call->route.lease == nullptr) return;
  call->route.lease->SetCancel(nullptr);
  call->route.lease.reset();
}

void RouterLoop::OnForwarded(Call* call) {
  // The driver is done with the call: its resource is free on that
  // instance from now on, also while the answer is written or the call
  // is sent again elsewhere.
  ReleaseLease(call);
  CancelTimer(call);
  const Route& route = call->route;
  if (call->cancelled_by_drain) {
    call->error.reason = "DRAIN_TIMEOUT";
    Respond(call, kCancelled,
            absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                         ") was being replaced and did not finish the call "
                         "within its drain timeout; the call was "
                         "cancelled"));
    return;
  }
  if (call->timed_out) {
    call->error.reason = "DRIVER_DEADLINE";
    Respond(call, kDeadlineExceeded,
            absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                         ") did not answer before the call's deadline"));
    return;
  }
  if (call->attempt.response_too_large) {
    call->error.reason = "RESPONSE_TOO_LARGE";
    Respond(call, kResourceExhausted,
            absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                         ") answered with more than pitstopd's limit of ",
                         options_.max_message_bytes, " bytes"));
    return;
  }
  const Attempt& a = call->attempt;
  if (!a.up_lost && !a.up_refused && a.up_error == 0 &&
      (a.trailers_done || a.trailers_only)) {
    SubmitResponse(call);
    return;
  }
  OnAttemptFailed(call);
}

namespace {

AttemptEnd EndOf(const Attempt& a) {
  if (a.up_refused) return AttemptEnd::kRefusedBeforeHeaders;
  if (a.up_lost) return AttemptEnd::kConnectionBroken;
  if (a.up_error == NGHTTP2_REFUSED_STREAM) {
    return a.up_goaway ? AttemptEnd::kGoaway : AttemptEnd::kRefusedStream;
  }
  return AttemptEnd::kReset;
}

}  // namespace

// The attempt ended without an answer: send the call again, or fail it.
void RouterLoop::OnAttemptFailed(Call* call) {
  const Attempt& a = call->attempt;
  const Route& route = call->route;
  RetryInput input;
  input.end = EndOf(a);
  input.http2_error = a.up_error;
  input.refused_retries = call->connect_retries;
  input.resent_after_break = call->resent_after_loss;
  input.has_operation_id = !call->context.operation_id().empty();
  const RetryDecision decision = DecideRetry(input);
  if (decision.retry) {
    // To the instance that replaces this one.
    if (NeverReachedDriver(input.end)) {
      ++call->connect_retries;
    } else {
      call->resent_after_loss = true;
    }
    Acquire(call, route.instance_id);
    return;
  }
  const std::string who =
      absl::StrCat("driver ", call->driver, " (pid ", route.pid, ") ");
  std::string message;
  if (NeverReachedDriver(input.end)) {
    call->error.reason = "DRIVER_REFUSED";
    message =
        absl::StrCat(who, "refused the call: ", a.up_lost_reason, "; retry it");
  } else if (input.end == AttemptEnd::kReset) {
    call->error.reason = "DRIVER_RESET_CALL";
    message = absl::StrCat(who, "reset the call (HTTP/2 error ", a.up_error,
                           ") without an answer");
  } else {
    call->error.reason = "DRIVER_LOST";
    message = absl::StrCat(
        who, "became unavailable during the call: ", a.up_lost_reason,
        input.has_operation_id ? "; it was resent once and failed again"
                               : "; the call had no operation id, so it was "
                                 "not resent: retry it");
  }
  Respond(call, static_cast<int>(decision.code), message);
}

// The counters of the version `route` leads to, found once per instance:
// the lock CallStats::For takes is not on the path of every call.
VersionCalls* RouterLoop::StatsFor(const Route& route) {
  auto it = stats_by_instance_.find(route.instance_id);
  if (it != stats_by_instance_.end()) return it->second;
  // Instances come and go (restarts, upgrades); the cache is rebuilt rather
  // than allowed to grow with them.
  if (stats_by_instance_.size() >= 256) stats_by_instance_.clear();
  VersionCalls* stats = options_.call_stats->For(
      route.driver, route.package->manifest.version.ToString());
  stats_by_instance_.emplace(route.instance_id, stats);
  return stats;
}

// Counts a routed call once: when its answer is submitted (before the
// client can read it, so a client that then asks for the figures sees its
// call), or when it ends unanswered (the caller gave up).
void RouterLoop::CountCall(Call* call) {
  if (options_.call_stats == nullptr || !call->routed || !call->classified ||
      call->call_counted) {
    return;
  }
  call->call_counted = true;
  const int code = call->code < 0 ? kCancelled : call->code;
  if (call->stats == nullptr) {
    options_.call_stats->RecordUnrouted(code);
    return;
  }
  call->stats->Record(call->method_index, code, absl::Now() - call->started);
}

}  // namespace pitstop
