#ifndef PITSTOP_SUPERVISOR_RPC_DRIVER_HEALTH_H_
#define PITSTOP_SUPERVISOR_RPC_DRIVER_HEALTH_H_

// Each driver as a service of the standard gRPC health API: service name
// "pitstop.driver/NAME" is SERVING while the driver is READY and
// NOT_SERVING otherwise, so a management server can Check or Watch one
// driver with any gRPC library's health client (docs/protocol.md). Follows
// the event log on a thread of its own; stops when destroyed.

#include <cstdint>
#include <map>
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
  // Sets every driver's status before it returns, then follows `events`
  // on its thread. All outlive this.
  DriverHealth(Supervisor& supervisor, EventLog& events,
               grpc::HealthCheckServiceInterface* health);
  ~DriverHealth();
  DriverHealth(const DriverHealth&) = delete;
  DriverHealth& operator=(const DriverHealth&) = delete;

 private:
  void Follow() ABSL_LOCKS_EXCLUDED(mu_);
  bool Stopping() ABSL_LOCKS_EXCLUDED(mu_);
  // Sets `driver`'s status when it changed: a watcher hears of changes
  // only (STOPPING, STOPPED, STARTING are one NOT_SERVING).
  void Set(const std::string& driver, bool serving);

  Supervisor& supervisor_;
  EventLog& events_;
  grpc::HealthCheckServiceInterface* const health_;
  // The constructor's, then the thread's alone.
  uint64_t since_ = 0;
  std::map<std::string, bool> serving_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started at the end of the constructor
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_DRIVER_HEALTH_H_
