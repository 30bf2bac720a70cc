#ifndef PITSTOP_SUPERVISOR_CORE_SUPERVISOR_OPTIONS_H_
#define PITSTOP_SUPERVISOR_CORE_SUPERVISOR_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/core/call_stats.h"
#include "supervisor/core/restart_policy.h"
#include "supervisor/core/sandbox_policy.h"

namespace pitstop {

struct SupervisorOptions {
  // Per-instance private directories: <run_dir>/<driver>/<instance>/, holding
  // the instance's socket.
  std::string run_dir;
  // Per-driver data that survives restarts and upgrades: <data_dir>/<driver>/.
  std::string data_dir;
  absl::Duration probe_interval = absl::Milliseconds(5);
  absl::Duration probe_timeout = absl::Seconds(1);
  // Health of serving drivers: a probe every health_interval; after
  // health_failures failures in a row the driver is DEGRADED (no new calls),
  // and replaced if it does not recover within degraded_grace.
  absl::Duration health_interval = absl::Seconds(1);
  uint32_t health_failures = 3;
  absl::Duration degraded_grace = absl::Seconds(5);
  // How long a routed call without a deadline waits for a READY instance.
  absl::Duration max_route_wait = absl::Seconds(30);
  RestartPolicyOptions restart;
  // How long a new version must serve without failing before its upgrade
  // commits, unless the upgrade says otherwise.
  absl::Duration upgrade_probation = absl::Seconds(10);
  // Limits and grants for every driver's sandbox (sandbox_policy.h).
  SandboxPolicyOptions sandbox;
  // The routed calls' totals of one version of a driver so far, for a
  // canary's gate (CallStats::TotalsFor); empty when calls are not counted
  // (count_calls: false), and then a canary is refused.
  std::function<CallTotals(absl::string_view driver,
                           absl::string_view version)>
      call_totals;  // as driver_status.h's CallTotalsFunction
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_SUPERVISOR_OPTIONS_H_
