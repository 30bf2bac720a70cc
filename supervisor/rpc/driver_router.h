#ifndef PITSTOP_SUPERVISOR_RPC_DRIVER_ROUTER_H_
#define PITSTOP_SUPERVISOR_RPC_DRIVER_ROUTER_H_

// DriverRouter serves the category services of pitstop.driver.v1 (storage,
// network, hypervisor) on the daemon as one generic asynchronous service.
// For each call it reads the driver name from the `pitstop-driver` metadata
// key and the CallContext (field 1) from the request, asks the Supervisor for
// a READY instance (waiting, without holding a thread, up to the call's
// deadline), checks the property bag against the driver's schema
// (INVALID_ARGUMENT listing every violation), forwards the request bytes
// over the instance's channel — unchanged, but for the validated bag
// appended as a second field 1 when defaults or conversions changed it —
// and relays the response bytes and status.
//
// Every step of a call runs on the thread of a completion queue that serves
// both the incoming call and the outgoing one, so a routed call costs no
// thread hand-off beyond gRPC's own (docs/performance.md has the figures).
//
// A call that could not reach an instance (connection refused: its process
// had just died) is sent again, to the replacement instance, at most twice.
// A call whose connection broke while it ran is sent once more only when it
// carries an operation id, which drivers must apply at most once; otherwise
// it fails with UNAVAILABLE naming the driver.
//
// Lifecycle: Register before the server is built, Start after, then
// BeginShutdown, AwaitIdle, the server's Shutdown, and Stop. Thread-safe.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server_builder.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {

// The metadata key that names the driver a routed call is for.
inline constexpr char kDriverMetadataKey[] = "pitstop-driver";

class DriverRouter {
 public:
  // `busy_poll`: how long a queue's thread polls for the next event before
  // it sleeps (0: never), when its last wait was that short (see Serve).
  DriverRouter(Supervisor& supervisor, absl::Duration default_call_timeout,
               absl::Duration busy_poll = absl::ZeroDuration());
  ~DriverRouter();

  // Adds the generic service and `threads` completion queues to `builder`.
  void Register(grpc::ServerBuilder& builder, int threads);
  // Starts serving on the completion queues; call after BuildAndStart.
  void Start();
  // Refuses new calls with UNAVAILABLE from now on.
  void BeginShutdown() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until no routed call is in flight or `deadline` passes; true when
  // idle.
  bool AwaitIdle(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // Shuts the completion queues down and joins their threads. Call after the
  // server's Shutdown and after the supervisor has answered every parked
  // call (StopAll).
  void Stop();

  // "/pitstop.driver.v1.StorageService/CreateVolume" -> storage, for every
  // method of the three category services.
  const std::map<std::string, DriverCategory>& methods() const {
    return methods_;
  }

  // Used by the calls themselves.
  Supervisor& supervisor() { return supervisor_; }
  absl::Duration default_call_timeout() const { return default_call_timeout_; }
  grpc::AsyncGenericService& service() { return service_; }
  bool CallStarted() ABSL_LOCKS_EXCLUDED(mu_);
  void CallEnded() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A completion queue's thread. Waking a sleeping thread costs more than a
  // short call's whole work on this machine (docs/performance.md), so after
  // each event the thread polls the queue for up to busy_poll_, yielding the
  // core to anything runnable, before it sleeps. It polls again only while
  // events keep coming that close together: a thread whose last wait was
  // longer sleeps at once and burns nothing.
  void Serve(grpc::ServerCompletionQueue* cq);

  // Constant after construction
  Supervisor& supervisor_;
  const absl::Duration default_call_timeout_;
  const absl::Duration busy_poll_;
  std::map<std::string, DriverCategory> methods_;
  grpc::AsyncGenericService service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;  // Touched only by the thread that owns the router.

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_DRIVER_ROUTER_H_
