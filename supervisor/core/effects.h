#ifndef PITSTOP_SUPERVISOR_CORE_EFFECTS_H_
#define PITSTOP_SUPERVISOR_CORE_EFFECTS_H_

// The work the Supervisor decides under its lock and does after releasing
// it ("decide under the lock, act after it"): launches, signals, probes,
// answers to parked calls, saves, and file clean-up.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/core/desired_state.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/event_log.h"
#include "supervisor/core/instance_load.h"
#include "supervisor/core/route_source.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

struct Effects {
  struct Launch {
    std::string driver;
    uint64_t instance_id = 0;
    LaunchSpec spec;
    std::string dir;
    std::string expected_sha256;  // of spec.executable; empty: unchecked
  };
  struct Probe {
    std::string driver;
    uint64_t instance_id = 0;
    std::shared_ptr<DriverEndpoint> endpoint;
    absl::Time deadline;
  };
  std::vector<Launch> launches;
  std::vector<std::pair<pid_t, int>> signals;
  std::vector<Probe> probes;
  std::vector<std::pair<RouteCallback, absl::StatusOr<Route>>> replies;
  std::vector<std::string> remove_dirs;
  std::vector<std::pair<std::string, DesiredDriverState>> persist;
  // Loads whose remaining calls must be cancelled (drain timeout).
  std::vector<std::shared_ptr<InstanceLoad>> cancels;
  // Events to record once `persist` is saved.
  std::vector<DriverEvent> after_persist;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_EFFECTS_H_
