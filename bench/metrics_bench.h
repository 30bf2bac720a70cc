#ifndef PITSTOP_BENCH_METRICS_BENCH_H_
#define PITSTOP_BENCH_METRICS_BENCH_H_

#include "bench/bench_support.h"

namespace pitstop::bench {

// What counting routed calls costs: two pitstopds, each on its own bench
// driver, one with `count_calls: false` and no metrics listener, the other
// counting, serving metrics_listen and scraped every second meanwhile.
// metrics_on_call_p50_ratio and metrics_on_call_p99_ratio (one caller, in
// alternating blocks), metrics_on_throughput_ratio (8 callers, in
// alternating windows): on over off, so 1.0 is free.
void MetricsCost(const Settings& s, ChildProcessManager& launcher);

}  // namespace pitstop::bench

#endif  // PITSTOP_BENCH_METRICS_BENCH_H_
