#ifndef PITSTOP_SUPERVISOR_COMMON_LOG_LIMITER_H_
#define PITSTOP_SUPERVISOR_COMMON_LOG_LIMITER_H_

// At most one log line a period for a log site that a client (or a driver)
// can trigger at will, with the number of occurrences it stands for: a
// flood of bad connections costs the log a line a second, never a line an
// event. Not thread-safe: one per site and thread (the router's loop).

#include <cstdint>

#include "absl/time/time.h"

namespace pitstop {

class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration period = absl::Seconds(1))
      : period_(period) {}

  // Counts one occurrence at `now`; true when a line should be written
  // now, with `*count` the occurrences it reports (this one and those
  // suppressed since the last line).
  bool Allow(absl::Time now, int64_t* count) {
    ++pending_;
    if (now < next_) return false;
    *count = pending_;
    pending_ = 0;
    next_ = now + period_;
    return true;
  }

 private:
  const absl::Duration period_;
  absl::Time next_ = absl::InfinitePast();
  int64_t pending_ = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_LOG_LIMITER_H_
