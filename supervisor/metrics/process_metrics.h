#ifndef PITSTOP_SUPERVISOR_METRICS_PROCESS_METRICS_H_
#define PITSTOP_SUPERVISOR_METRICS_PROCESS_METRICS_H_

// The process_* family every Prometheus client library exports, for this
// process, from /proc: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds.

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "supervisor/metrics/prometheus_text.h"

namespace pitstop {

void AppendProcessMetrics(PrometheusText& out);

// What another process (a driver) uses: its memory, from its cgroup when it
// has one of pitstopd's (pitstop/...: the memory the kernel charges it and
// its children, page cache included) or its resident set otherwise, and its
// CPU time with that of its children it has waited for, from /proc.
struct ProcessUsage {
  bool found = false;  // false: the process is gone
  double memory_bytes = 0;
  double cpu_seconds = 0;
};
// `cgroup_fs` is the cgroup mount point, /sys/fs/cgroup except in tests.
ProcessUsage ReadProcessUsage(pid_t pid,
                              const std::string& cgroup_fs = "/sys/fs/cgroup");

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_METRICS_PROCESS_METRICS_H_
