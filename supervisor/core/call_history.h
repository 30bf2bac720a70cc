#ifndef PITSTOP_SUPERVISOR_CORE_CALL_HISTORY_H_
#define PITSTOP_SUPERVISOR_CORE_CALL_HISTORY_H_

// Recent figures of the routed calls, per version of each driver: the
// totals of CallStats sampled once a second, the last few minutes kept, so
// that a reader gets rates, error rates and latency quantiles over a window
// (`pitstop top`, `pitstop describe`, the console's charts, a canary's
// gate) without counting anything itself. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/core/call_stats.h"

namespace pitstop {

// One version's calls over a window.
struct CallFigures {
  std::string driver;
  std::string version;
  absl::Duration span;  // what the window really covers (less at start)
  uint64_t calls = 0;   // in the window
  uint64_t driver_errors = 0;
  double calls_per_second = 0;
  double error_rate = 0;  // driver_errors / calls; 0 without calls
  double p50_seconds = 0;
  double p99_seconds = 0;
  uint64_t calls_total = 0;  // since pitstopd started
  uint64_t driver_errors_total = 0;
};

// The figures of `later` since `earlier` (null: since the start), over
// `span`.
CallFigures FiguresBetween(const CallTotals* earlier, const CallTotals& later,
                           absl::Duration span);

class CallHistory {
 public:
  // Keeps `capacity` samples (a second apart: that many seconds).
  explicit CallHistory(const CallStats& stats, size_t capacity = 300)
      : stats_(stats), capacity_(capacity) {}

  // Takes a sample; call once a second.
  void Sample(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Every version's figures from the sample nearest `window` before `now`
  // (the oldest kept, if none is that old) to the counters as they are now.
  std::vector<CallFigures> Over(absl::Time now, absl::Duration window) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // The versions of `driver` second by second over the last `window`,
  // oldest first: each point holds one CallFigures per version that had
  // counters then (span: the time since the point before).
  struct Point {
    absl::Time at;
    std::vector<CallFigures> versions;
  };
  std::vector<Point> Series(absl::string_view driver,
                            absl::Duration window) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Taken {
    absl::Time at;
    std::vector<CallTotals> totals;  // by index in keys_
  };
  // The totals of every version now, by index in keys_ (which grows).
  std::vector<CallTotals> TakeTotals() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const CallStats& stats_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  // (driver, version) in the order CallStats made them.
  mutable std::vector<std::pair<std::string, std::string>> keys_
      ABSL_GUARDED_BY(mu_);
  std::deque<Taken> samples_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_CALL_HISTORY_H_
