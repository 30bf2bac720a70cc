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

}  // namespace pitstop::bench

#endif  // PITSTOP_BENCH_READOPT_BENCH_H_
