#ifndef PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_
#define PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_

// What pitstopd's /metrics says (docs/observability.md): the build, every
// driver's state, restarts and identity, the upgrades in progress, and the
// process_* family. A scrape reads the supervisor's snapshot (Supervisor::
// List), the same the admin API answers from; nothing here is counted on
// the routed path.

#include <string>

#include "supervisor/core/supervisor.h"

namespace pitstop {

std::string CollectDaemonMetrics(Supervisor& supervisor);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_DAEMON_METRICS_H_
