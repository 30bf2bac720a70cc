#ifndef PITSTOP_SUPERVISOR_RPC_ROUTER_LOOP_H_
#define PITSTOP_SUPERVISOR_RPC_ROUTER_LOOP_H_

// The frame router's coordinator on its event-loop thread: it owns the
// loop, the connections, the driver pool, the backend passages and the
// calls, and moves each call along when something happened to it. The
// nghttp2 callbacks only record what arrived and schedule the call
// (stream_events.cc); Settle then advances the scheduled calls
// (router_loop.cc), routed ones through their phases (routed_call.cc),
// the others to the backend (pass_through.cc), tears down dead connections
// and writes what is queued.
//
// Constructed on the router's thread, then Run on the loop's thread; every
// other method runs there (the loop CHECKs it where work comes in).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "supervisor/common/log_limiter.h"
#include "supervisor/core/route_source.h"
#include "supervisor/rpc/backend_passage.h"
#include "supervisor/rpc/call_gate.h"
#include "supervisor/rpc/connections.h"
#include "supervisor/rpc/driver_pool.h"
#include "supervisor/rpc/event_loop.h"
#include "supervisor/rpc/frame_router.h"
#include "supervisor/rpc/listener.h"
#include "supervisor/rpc/routed_call.h"
#include "supervisor/schema/property_validator.h"

namespace grpc {
class Server;
}

namespace pitstop {

class RouterLoop {
 public:
  RouterLoop(RouteSource& routes, const FrameRouterOptions& options,
             const MethodTable& methods, CallGate& gate, int listen_fd,
             grpc::Server* backend);
  ~RouterLoop();
  RouterLoop(const RouterLoop&) = delete;
  RouterLoop& operator=(const RouterLoop&) = delete;

  // Runs until RequestStop (any thread).
  void Run() { loop_.Run(*this); }
  void RequestStop() { loop_.RequestStop(); }

  // Loop thread: stops accepting (the listening socket stays open, its
  // backlog for the next daemon) and sends GOAWAY to every client
  // connection; each closes once its streams have ended.
  void GoAway();
  // Loop thread: accepts again after GoAway.
  void ResumeAccepting();
  // A graceful GOAWAY to one client, in two steps (router_loop.cc).
  void BeginGoAway(Connection* conn);
  void FinishGoAway(Connection* conn);
  EventLoop& loop() { return loop_; }

  // EventLoop's handler.
  bool Busy() const { return !work_.empty() || connections_.HasDirty(); }
  void OnEvent(void* tag, uint32_t events);
  void OnTimer(uint64_t id);
  void Settle();

  // Timer ids that are not calls' (calls count up from 1).
  static constexpr uint64_t kSweepTimer = ~uint64_t{0};
  static constexpr uint64_t kAcceptTimer = ~uint64_t{0} - 1;

 private:
  // stream_events.cc: the nghttp2 callbacks, and the bodies' providers.
  struct StreamEvents;
  friend struct StreamEvents;
  static Http2Callbacks StreamCallbacks();
  static void* UserData(const Call* call);
  static nghttp2_data_provider RequestBody(const Call* call);
  static nghttp2_data_provider ResponseBody(const Call* call);

  // client_limits.cc: admitting clients, and what each may spend.
  void AcceptClients();
  void Admit(int fd, absl::Time now);
  void Identify(Connection* conn);
  void WatchListener();
  void Sweep(absl::Time now);
  void SweepCalls(Connection* conn, absl::Time now);
  void ForgetClient(Connection* conn);

  // router_loop.cc: calls, and what every call goes through.
  void Reap();
  void NewCall(Connection* client, int32_t stream_id);
  Call* FindCall(uint64_t id);
  void Schedule(Call* call);
  void Advance(Call* call);
  void Classify(Call* call);
  void Respond(Call* call, int code, absl::string_view message);
  void AuditRefusal(const Call* call, const std::string& why);
  void Respond(Call* call, const absl::Status& status);
  void SubmitResponse(Call* call);
  void Destroy(Call* call);
  // Copies what fits of body[sent..] into `buf`; see stream_events.cc.
  size_t CopyOut(bool passed_through, std::string& body, size_t& sent,
                 uint8_t* buf, size_t length, Connection* from,
                 int32_t from_stream);

  // pass_through.cc
  void AdvancePassThrough(Call* call);

  // routed_call.cc
  void AdvanceRouted(Call* call);
  void OnRequest(Call* call);
  void Acquire(Call* call, uint64_t avoid_instance);
  void RouteArrived(uint64_t id, absl::StatusOr<Route> route);
  void OnRoute(Call* call, absl::StatusOr<Route> route);
  void SetForwardDeadline(Call* call, const DriverManifest& m);
  static void AppendProperties(Call* call, PropertyBag properties);
  void Refused(Call* call, std::string reason);
  void Forward(Call* call);
  void WatchDrain(Call* call);
  void AbandonForward(Call* call);
  void CancelTimer(Call* call);
  void ReleaseLease(Call* call);
  void OnForwarded(Call* call);
  void OnAttemptFailed(Call* call);
  VersionCalls* StatsFor(const Route& route);
  void CountCall(Call* call);

  // Constant after construction
  RouteSource& routes_;
  const FrameRouterOptions& options_;
  const MethodTable& methods_;
  CallGate& gate_;
  const int listen_fd_;

  // Loop thread only (the loop CHECKs it)
  EventLoop loop_;
  Connections connections_;
  DriverPool pool_;
  BackendPassages backends_;
  char listen_tag_ = 0;              // epoll data of the listening socket
  bool accepting_ = true;            // false after GoAway
  bool out_of_descriptors_ = false;  // accepting paused for a moment
  bool listener_watched_ = false;
  Acceptor acceptor_;
  // Client connections open, in all and per PeerIdentity::key.
  size_t clients_ = 0;
  std::unordered_map<std::string, size_t> per_peer_;
  // Routed request bytes held, all connections.
  size_t buffered_total_ = 0;
  // Log sites a client can trigger.
  LogLimiter refused_log_;
  LogLimiter descriptors_log_;
  LogLimiter timeout_log_;
  LogLimiter tls_log_;
  uint64_t next_call_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;
  std::deque<uint64_t> work_;
  // Route::instance_id -> its version's counters (StatsFor).
  std::unordered_map<uint64_t, VersionCalls*> stats_by_instance_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ROUTER_LOOP_H_
