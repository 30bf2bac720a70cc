#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_ENDPOINT_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_ENDPOINT_H_

// How the core talks to one running driver instance, without knowing the
// transport: rpc/ implements it over gRPC, tests with a fake.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pitstop {

struct ProbeResult {
  bool ready = false;
  std::string message;  // why not ready yet
};

class DriverEndpoint {
 public:
  virtual ~DriverEndpoint() = default;
  // Asks the instance's identity service whether it is ready. `done` runs
  // exactly once, on any thread, with the answer or the transport error.
  // Never blocks.
  virtual void Probe(absl::Time deadline,
                     std::function<void(absl::StatusOr<ProbeResult>)> done) = 0;
};

class DriverEndpointFactory {
 public:
  virtual ~DriverEndpointFactory() = default;
  // An endpoint for the instance that will serve on `socket_path`. Does not
  // connect yet. Thread-safe.
  virtual std::shared_ptr<DriverEndpoint> Connect(
      const std::string& socket_path) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_ENDPOINT_H_
