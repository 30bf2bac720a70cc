#ifndef PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_
#define PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_

// What pitstopd's /metrics says (docs/observability.md): the build, every
// driver's state, restarts, identity and use of memory and CPU, the routed
// calls, the upgrades in progress, and the process_* family. A scrape reads
// the supervisor's snapshot (Supervisor::List), the same the admin API
// answers from, and the router's call counters (CallStats, null when
// count_calls is off).

#include <string>

#include "supervisor/core/call_stats.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {

std::string CollectDaemonMetrics(Supervisor& supervisor,
                                 const CallStats* calls);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_
