#ifndef PITSTOP_SUPERVISOR_RPC_DRIVER_HEALTH_H_
#define PITSTOP_SUPERVISOR_RPC_DRIVER_HEALTH_H_

// Each driver as a service of the standard gRPC health API: service name
// "pitstop.driver/NAME" is SERVING while the driver is READY and
// NOT_SERVING otherwise, so a management server can Check or Watch one
// driver with any gRPC library's health client (docs/protocol.md). Follows
// the event log on a thread of its own; stops when destroyed.

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/core/event_log.h"
#include "supervisor/core/supervisor.h"

namespace grpc {
class HealthCheckServiceInterface;
}

namespace pitstop {

// "pitstop.driver/flashpool".
std::string DriverHealthName(const std::string& driver);

class DriverHealth {
 public:
  // Sets every driver's status now, then follows `events`. All outlive
  // this.
  DriverHealth(Supervisor& supervisor, EventLog& events,
               grpc::HealthCheckServiceInterface* health);
  ~DriverHealth();
  DriverHealth(const DriverHealth&) = delete;
  DriverHealth& operator=(const DriverHealth&) = delete;

 private:
  void Follow() ABSL_LOCKS_EXCLUDED(mu_);
  bool Stopping() ABSL_LOCKS_EXCLUDED(mu_);

  Supervisor& supervisor_;
  EventLog& events_;
  grpc::HealthCheckServiceInterface* const health_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_DRIVER_HEALTH_H_
