#ifndef PITSTOP_BENCH_CANARY_BENCH_H_
#define PITSTOP_BENCH_CANARY_BENCH_H_

#include "bench/bench_support.h"

namespace pitstop::bench {

// Canary upgrades of the recorder under load (the upgrade group's callers
// and resources): a full 10% -> 50% -> 100% run to 2.0.0,
// canary_failed_calls (goal 0) and canary_total_ms; then a canary of 4.0.0
// (answers every call INTERNAL) that its gate rolls back,
// canary_rollback_ms from the failing gate until every canary resource has
// no call left on the new version (all its calls then go to the old one).
void Canaries(const Settings& s, ChildProcessManager& launcher);

}  // namespace pitstop::bench

#endif  // PITSTOP_BENCH_CANARY_BENCH_H_
