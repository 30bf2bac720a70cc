#ifndef PITSTOP_BENCH_UPGRADE_STEPS_H_
#define PITSTOP_BENCH_UPGRADE_STEPS_H_

// Upgrades of the recorder driver for the benchmark: start one, and read
// its events until it has ended.

#include <map>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "bench/bench_support.h"

namespace pitstop::bench {

// The recorder's CAR of version `major`.0.0.
std::string RecorderCarPath(int major);

// Upgrades recorder to the CAR at `car` (as a canary when `canary` is set);
// returns the sequence number just before its first event. Exits the
// program if the daemon refuses.
uint64_t StartUpgrade(Daemon& daemon, const std::string& car,
                      absl::Duration probation,
                      const sv1::CanaryPlan* canary = nullptr);

// One event as the daemon timed it.
struct TimedEvent {
  std::string kind;
  std::string reason;
  absl::Time time;
};

// Reads `driver`'s events after `since` until one of the `last` kinds (or
// two minutes); returns them in order.
std::vector<TimedEvent> FollowEvents(Daemon& daemon, const std::string& driver,
                                     uint64_t since,
                                     const std::set<std::string>& last);

// The time of the first event of each kind.
std::map<std::string, absl::Time> FirstByKind(
    const std::vector<TimedEvent>& events);

}  // namespace pitstop::bench

#endif  // PITSTOP_BENCH_UPGRADE_STEPS_H_
