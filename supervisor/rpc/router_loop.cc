#include "supervisor/rpc/router_loop.h"

#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/check.h"
#include "supervisor/common/error_reason.h"
#include "supervisor/rpc/audit_queue.h"
#include "supervisor/rpc/grpc_wire.h"
#include "supervisor/rpc/listener.h"

namespace pitstop {
namespace {

// Streams whose path starts with one of these go to the in-process server.
constexpr absl::string_view kBackendPrefixes[] = {
    "/pitstop.supervisor.v1.", "/grpc.health.v1.", "/grpc.reflection."};

}  // namespace

RouterLoop::RouterLoop(RouteSource& routes, const FrameRouterOptions& options,
                       const MethodTable& methods, CallGate& gate,
                       int listen_fd, grpc::Server* backend)
    : routes_(routes),
      options_(options),
      methods_(methods),
      gate_(gate),
      listen_fd_(listen_fd),
      connections_(loop_, StreamCallbacks(),
                   Http2Settings{options.limits.max_streams_per_connection,
                                 static_cast<uint32_t>(
                                     options.limits.max_header_list_bytes)},
                   this),
      pool_(connections_, options.connections_per_instance),
      backends_(connections_, backend),
      acceptor_(listen_fd) {
  WatchListener();
  loop_.AddTimer(absl::Now() + absl::Seconds(1), kSweepTimer);
}

RouterLoop::~RouterLoop() {
  // The connections close before the calls (and their leases) go, in the
  // order the router has always torn down in.
  connections_.CloseAll();
  calls_.clear();
}

void RouterLoop::OnEvent(void* tag, uint32_t events) {
  if (tag == &listen_tag_) {
    AcceptClients();
    return;
  }
  connections_.OnEvent(static_cast<Connection*>(tag), events);
}

void RouterLoop::GoAway() {
  CHECK_ON_LOOP_THREAD(loop_.checker());
  accepting_ = false;
  WatchListener();
  connections_.ForEachClient([this](Connection* conn) { BeginGoAway(conn); });
}

// GOAWAY in two steps, as RFC 9113 (6.8) advises for a graceful close: a
// notice (last stream 2^31-1) and a PING; once the client acknowledges the
// PING it has seen the notice and opens no more streams here, so the final
// GOAWAY (FinishGoAway) names every stream it sent, and none is lost in
// flight.
void RouterLoop::BeginGoAway(Connection* conn) {
  if (conn->goaway_sent) return;
  conn->goaway_sent = true;
  conn->awaiting_goaway_ack = true;
  nghttp2_submit_shutdown_notice(conn->session);
  nghttp2_submit_ping(conn->session, NGHTTP2_FLAG_NONE, nullptr);
  connections_.MarkDirty(conn);
}

void RouterLoop::FinishGoAway(Connection* conn) {
  if (!conn->awaiting_goaway_ack) return;
  conn->awaiting_goaway_ack = false;
  nghttp2_submit_goaway(conn->session, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(conn->session),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  connections_.MarkDirty(conn);
}

void RouterLoop::ResumeAccepting() {
  CHECK_ON_LOOP_THREAD(loop_.checker());
  accepting_ = true;
  WatchListener();
}

void RouterLoop::OnTimer(uint64_t call_id) {
  if (call_id == kSweepTimer) {
    const absl::Time now = absl::Now();
    Sweep(now);
    loop_.AddTimer(now + absl::Seconds(1), kSweepTimer);
    return;
  }
  if (call_id == kAcceptTimer) {
    out_of_descriptors_ = false;
    WatchListener();
    return;
  }
  Call* call = FindCall(call_id);
  CHECK(call != nullptr);  // a call's timer goes with it
  call->timer.reset();
  if (call->attempt.up == nullptr) return;  // answered; not advanced yet
  call->timed_out = true;
  AbandonForward(call);
}

// Advances every call that has news, tears down what died and writes what
// is queued, until nothing changes.
void RouterLoop::Settle() {
  CHECK_ON_LOOP_THREAD(loop_.checker());
  while (!work_.empty() || connections_.HasDead() || connections_.HasDirty()) {
    while (!work_.empty()) {
      const uint64_t id = work_.front();
      work_.pop_front();
      Call* call = FindCall(id);
      if (call == nullptr) continue;
      call->scheduled = false;
      Advance(call);
    }
    Reap();
    connections_.FlushDirty();
  }
}

// Tears down dead connections; their calls learn of it.
void RouterLoop::Reap() {
  while (Connection* conn = connections_.NextDead()) {
    for (uint64_t id : conn->calls) {
      Call* call = FindCall(id);
      if (call == nullptr) continue;
      if (conn->peer == Peer::kClient) {
        call->client_closed = true;
        call->client = nullptr;
      } else if (call->attempt.up == conn) {
        Attempt& a = call->attempt;
        a.up = nullptr;
        a.up_closed = true;
        // A request whose headers never left cannot have reached the
        // driver.
        (a.up_headers_sent ? a.up_lost : a.up_refused) = true;
        a.up_lost_reason = conn->dead_reason;
      }
      Schedule(call);
    }
    backends_.Unlink(conn);
    if (conn->peer == Peer::kDriver) pool_.Forget(conn);
    if (conn->peer == Peer::kClient) ForgetClient(conn);
    connections_.Remove(conn);
  }
}

void RouterLoop::NewCall(Connection* client, int32_t stream_id) {
  auto call = std::make_unique<Call>();
  call->id = ++next_call_;
  call->client = client;
  call->client_stream = stream_id;
  call->started = absl::Now();
  nghttp2_session_set_stream_user_data(client->session, stream_id,
                                       UserData(call.get()));
  client->calls.insert(call->id);
  calls_[call->id] = std::move(call);
}

Call* RouterLoop::FindCall(uint64_t id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second.get();
}

void RouterLoop::Schedule(Call* call) {
  if (call->scheduled) return;
  call->scheduled = true;
  work_.push_back(call->id);
}

void RouterLoop::Advance(Call* call) {
  if (call->client_closed) {
    Destroy(call);
    return;
  }
  if (!call->classified) {
    if (!call->headers_done) return;
    if (call->headers_too_large) {
      call->classified = true;
      Respond(call, kResourceExhausted,
              absl::StrCat("the request's headers exceed pitstopd's limit "
                           "of ",
                           options_.limits.max_header_list_bytes,
                           " bytes (counted after HPACK decoding)"));
      return;
    }
    Classify(call);
  }
  // Refused by Classify (an unknown method): nothing to forward.
  if (!call->routed && !call->attempt.up_started && call->response_submitted)
    return;
  if (call->routed) {
    AdvanceRouted(call);
  } else {
    AdvancePassThrough(call);
  }
}

void RouterLoop::Classify(Call* call) {
  call->classified = true;
  if (!call->client->identified) Identify(call->client);
  if (!call->routed) {
    for (absl::string_view prefix : kBackendPrefixes) {
      if (!absl::StartsWith(call->method, prefix)) continue;
      const Role needed = RequiredRole(call->method);
      if (call->client->role < needed) {
        const std::string why =
            absl::StrCat(call->client->identity.Describe(), " may not call ",
                         call->method, ": it needs the ", RoleName(needed),
                         " role and has ", RoleName(call->client->role),
                         " (pitstopd.yaml `roles`; docs/security.md)");
        AuditRefusal(call, why);
        call->error.reason = "ROLE_NEEDED";
        Respond(call, kPermissionDenied, why);
      }
      return;  // pass through
    }
    call->error.reason = "UNKNOWN_METHOD";
    Respond(call, kUnimplemented,
            absl::StrCat("unknown method ", call->method,
                         "; pitstopd serves pitstop.driver.v1.StorageService, "
                         "NetworkService and HypervisorService (routed to "
                         "drivers), pitstop.supervisor.v1.AdminService, "
                         "grpc.health.v1.Health and server reflection"));
    return;
  }
  call->counted = gate_.Started();
  if (!call->counted) {
    call->error.reason = "SHUTTING_DOWN";
    Respond(call, kUnavailable,
            "pitstopd is shutting down; retry against its replacement");
    return;
  }
  if (const std::string* timeout =
          FindHeader(call->request_headers, "grpc-timeout")) {
    if (auto d = ParseGrpcTimeout(*timeout)) {
      call->deadline = absl::Now() + *d;
    }
  }
}

// A refused admin call that would have been audited had it been allowed
// goes on the trail too: who tried what.
void RouterLoop::AuditRefusal(const Call* call, const std::string& why) {
  if (options_.audit == nullptr || !Audited(call->method)) return;
  AuditRecord record;
  record.actor = PeerHeader(call->client->identity);
  absl::string_view action = call->method;
  action.remove_prefix(action.rfind('/') + 1);
  record.action = std::string(action);
  record.args = "{} (refused before its request was read)";
  record.code = kPermissionDenied;
  record.message = why;
  options_.audit->Offer(std::move(record));
}

// Sends trailers-only `code` and `message` to the client, unless a
// response is already on its way.
void RouterLoop::Respond(Call* call, int code, absl::string_view message) {
  if (call->response_submitted || call->client == nullptr) return;
  call->response_submitted = true;
  call->code = code;
  call->phase = Call::Phase::kResponding;
  call->error.driver = call->driver;
  const Headers headers = {
      {":status", "200"},
      {"content-type", "application/grpc"},
      {"grpc-status", std::to_string(code)},
      {"grpc-message", PercentEncode(message)},
      {kStatusDetailsHeader, StatusDetailsValue(code, message, call->error)}};
  std::vector<nghttp2_nv> nva = NvList(headers);
  nghttp2_submit_response(call->client->session, call->client_stream,
                          nva.data(), nva.size(), nullptr);
  // Answered before the caller finished sending (an unknown method, a
  // request over a limit): the rest of its request is not wanted, and the
  // stream is reset once the answer is out (OnFrameSend).
  call->reset_after_response = !call->request_complete;
  connections_.MarkDirty(call->client);
  CountCall(call);
}

void RouterLoop::Respond(Call* call, const absl::Status& status) {
  if (call->error.reason.empty()) call->error.reason = ReasonOf(status);
  Respond(call, static_cast<int>(status.code()), status.message());
}

// Forwards the response headers (with the body and trailers behind them)
// to the client.
void RouterLoop::SubmitResponse(Call* call) {
  call->response_submitted = true;
  const Attempt& a = call->attempt;
  const std::string* status = FindHeader(
      a.trailers_only ? a.response_headers : a.trailers, "grpc-status");
  // A driver's answer without a status is a broken one: the client's
  // library reports it as UNKNOWN.
  if (status == nullptr || !absl::SimpleAtoi(*status, &call->code)) {
    call->code = 2;
  }
  call->phase = Call::Phase::kResponding;
  std::vector<nghttp2_nv> nva = NvList(call->attempt.response_headers);
  nghttp2_data_provider body = ResponseBody(call);
  nghttp2_submit_response(call->client->session, call->client_stream,
                          nva.data(), nva.size(),
                          call->attempt.trailers_only ? nullptr : &body);
  connections_.MarkDirty(call->client);
  CountCall(call);
}

void RouterLoop::Destroy(Call* call) {
  CountCall(call);
  if (call->client != nullptr) {
    call->client->buffered -= call->buffered;
    if (call->client->calls.size() == 1) call->client->idle_since = absl::Now();
  }
  buffered_total_ -= call->buffered;
  if (call->attempt.up != nullptr) AbandonForward(call);
  ReleaseLease(call);
  CancelTimer(call);
  if (call->client != nullptr) call->client->calls.erase(call->id);
  if (call->counted) gate_.Ended();
  calls_.erase(call->id);
}

}  // namespace pitstop
