#ifndef PITSTOP_SDK_DRIVER_SERVER_H_
#define PITSTOP_SDK_DRIVER_SERVER_H_

// The gRPC server half of a driver, without process concerns (flags,
// signals): DriverRuntime::Serve uses it, and tests start and stop it
// directly.
//
// It serves, on one Unix socket:
//   - pitstop.driver.v1.IdentityService: GetInfo answers from the DriverInfo;
//     Probe answers the readiness set with SetReady (ready by default);
//   - grpc.health.v1.Health (gRPC's default health service): SERVING for the
//     empty service name while ready, NOT_SERVING otherwise;
//   - the driver's category service(s) passed to Start().

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/server.h"
#include "pitstop/sdk/driver_info.h"

namespace pitstop::sdk {

class IdentityServiceImpl;
class InFlightCalls;

// Thread-safe. Start and Shutdown are each called at most once, in that
// order; SetReady may be called from any thread at any time.
class DriverServer {
 public:
  explicit DriverServer(DriverInfo info);
  // Shuts down with no grace if still serving.
  ~DriverServer();

  DriverServer(const DriverServer&) = delete;
  DriverServer& operator=(const DriverServer&) = delete;

  const DriverInfo& info() const { return info_; }

  // Readiness reported by Probe and health. `message` says why the driver is
  // not ready (e.g. "connecting to the array"), for the operator.
  void SetReady(bool ready, std::string message = "") ABSL_LOCKS_EXCLUDED(mu_);

  // Starts serving on the Unix socket `socket_path` and returns without
  // blocking. A stale socket file at the path is removed first; the socket
  // is made readable and writable by its owner (the daemon runs as the same
  // user). `services` are not owned and must outlive the server.
  // Errors: INVALID_ARGUMENT for a path too long for a Unix socket,
  // FAILED_PRECONDITION if something other than a socket is at the path,
  // UNAVAILABLE if gRPC cannot listen there.
  absl::Status Start(const std::string& socket_path,
                     const std::vector<grpc::Service*>& services)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stops accepting calls, lets in-flight calls finish for up to `grace`,
  // cancels the rest, and returns once the server has stopped: as soon as
  // the last in-flight call ends, even while clients keep idle connections
  // open. Blocks. Removes the socket file. A no-op if not started or
  // already shut down.
  void Shutdown(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void ApplyHealthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainShutdownQueueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const DriverInfo info_;
  const std::unique_ptr<IdentityServiceImpl> identity_;
  // Shared with the server's interceptors, which may outlive server_'s
  // shutdown.
  const std::shared_ptr<InFlightCalls> in_flight_;

  absl::Mutex mu_;
  // Guarded by mu_.
  bool ready_ ABSL_GUARDED_BY(mu_) = true;
  std::string ready_message_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(mu_);
  // Receives the shutdown notification of the server's gRPC core.
  std::unique_ptr<grpc::ServerCompletionQueue> shutdown_cq_
      ABSL_GUARDED_BY(mu_);
  std::string socket_path_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;

  friend class IdentityServiceImpl;
};

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_DRIVER_SERVER_H_
