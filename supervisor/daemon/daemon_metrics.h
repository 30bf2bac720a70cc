#ifndef PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_
#define PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_

// What pitstopd's /metrics says (docs/observability.md): the build, every
// driver's state, restarts, identity and use of memory and CPU, the routed
// calls, the upgrades in progress, the repositories and the updates they
// offer, and the process_* family. A scrape reads
// the supervisor's snapshot (Supervisor::List), the same the admin API
// answers from, and the router's call counters (CallStats, null when
// count_calls is off).

#include <string>

#include "supervisor/core/call_stats.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/install/update_announcer.h"
#include "supervisor/repo/repository_set.h"

namespace pitstop {

// What a scrape reads; all outlive the metrics listener.
struct MetricsSources {
  Supervisor* supervisor = nullptr;
  const CallStats* calls = nullptr;  // null: count_calls is off
  RepositorySet* repositories = nullptr;
  UpdateAnnouncer* updates = nullptr;
};

std::string CollectDaemonMetrics(const MetricsSources& sources);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_
