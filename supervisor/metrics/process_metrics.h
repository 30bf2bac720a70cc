#ifndef PITSTOP_SUPERVISOR_METRICS_PROCESS_METRICS_H_
#define PITSTOP_SUPERVISOR_METRICS_PROCESS_METRICS_H_

// The process_* family every Prometheus client library exports, for this
// process, from /proc: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds.

#include "supervisor/metrics/prometheus_text.h"

namespace pitstop {

void AppendProcessMetrics(PrometheusText& out);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_METRICS_PROCESS_METRICS_H_
