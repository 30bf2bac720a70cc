#ifndef PITSTOP_BENCH_READOPT_BENCH_H_
#define PITSTOP_BENCH_READOPT_BENCH_H_

#include "bench/bench_support.h"

namespace pitstop::bench {

// readopt_ms_p50: after kill -9 of a pitstopd serving 4 bench drivers, a new
// pitstopd on the same state directory, from its start until a routed call
// succeeds (median of Settings::readopt_rounds); readopt_ms_<N>_drivers:
// the same with Settings::many_drivers drivers, once. Each figure says
// whether the driver kept its pid (re-adopted rather than restarted).
void Readopt(const Settings& s, ChildProcessManager& launcher);

// A planned hand-over (pitstopd --take-over) under Settings::upgrade_callers
// callers over upgrade_resources resources of the recorder driver:
// handover_failed_calls, handover_p99_ratio (p99 of the calls that started
// from the new daemon's launch until one second after the old one exited,
// over the p99 of a baseline window before), handover_max_call_ms (the
// longest call: how long a caller waited through it), and whether the
// driver kept its pid.
void Handover(const Settings& s, ChildProcessManager& launcher);

}  // namespace pitstop::bench

#endif  // PITSTOP_BENCH_READOPT_BENCH_H_
