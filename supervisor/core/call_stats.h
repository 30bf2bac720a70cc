#ifndef PITSTOP_SUPERVISOR_CORE_CALL_STATS_H_
#define PITSTOP_SUPERVISOR_CORE_CALL_STATS_H_

// What the routed calls did, per version of each driver: how many ended
// with each gRPC status code, and how long they took, per method. The
// router's loop thread is the only writer, so recording a call is a few
// relaxed loads and stores on counters it found before (no lock, no
// allocation, no read-modify-write); any thread may take a Snapshot, for
// /metrics, `pitstop top` and the canary gate.
//
// Counters are cumulative from the daemon's start, as Prometheus counters
// are; a reader computes rates from two snapshots.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/grpc_codes.h"

namespace pitstop {

// The upper bounds of the latency buckets, in seconds, ascending; a call
// above the last falls in the +Inf bucket.
inline constexpr size_t kLatencyBoundCount = 17;
const std::vector<double>& CallLatencyBounds();

// "OK", "INVALID_ARGUMENT", ... for 0..16; "UNKNOWN" otherwise (what a
// call's code is counted as).
absl::string_view CodeLabel(int code);

// Whether a call ending with `code` failed because of the driver (INTERNAL,
// UNKNOWN, UNAVAILABLE, DEADLINE_EXCEEDED, DATA_LOSS), not because of what
// its caller asked (INVALID_ARGUMENT, NOT_FOUND, ...) or did (CANCELLED).
bool IsDriverError(int code);

// The counters of one version of one driver. Record is for the writer
// thread only.
class VersionCalls {
 public:
  VersionCalls(std::string driver, std::string version, size_t methods);
  VersionCalls(const VersionCalls&) = delete;
  VersionCalls& operator=(const VersionCalls&) = delete;

  // A call of method number `method` ended with `code` after `took`.
  void Record(size_t method, int code, absl::Duration took);

  const std::string& driver() const { return driver_; }
  const std::string& version() const { return version_; }

 private:
  friend class CallStats;
  struct Method {
    std::array<std::atomic<uint64_t>, kGrpcCodeCount> codes{};
    std::array<std::atomic<uint64_t>, kLatencyBoundCount + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0};
  };

  const std::string driver_;
  const std::string version_;
  const size_t method_count_;
  std::unique_ptr<Method[]> methods_;
};

struct MethodCallsSnapshot {
  std::string method;  // "/pitstop.driver.v1.StorageService/CreateVolume"
  std::array<uint64_t, kGrpcCodeCount> codes{};
  // Per bucket of CallLatencyBounds(), not cumulative; the last is +Inf.
  std::vector<uint64_t> buckets;
  double sum_seconds = 0;
  uint64_t count = 0;  // the buckets' sum
};

struct VersionCallsSnapshot {
  std::string driver;
  std::string version;
  // Only the methods that have been called.
  std::vector<MethodCallsSnapshot> methods;
};

// Totals over methods: the calls, those that failed because of the driver,
// and the latency buckets (as MethodCallsSnapshot::buckets).
struct CallTotals {
  uint64_t calls = 0;
  uint64_t driver_errors = 0;
  std::vector<uint64_t> buckets;
  double sum_seconds = 0;
};
CallTotals TotalsOf(const VersionCallsSnapshot& v);

// The `q` quantile (0..1) of the calls counted in `buckets` (as above),
// interpolated linearly inside its bucket as Prometheus'
// histogram_quantile does; 0 when there are none. A quantile in the +Inf
// bucket is the last bound.
double BucketQuantile(const std::vector<uint64_t>& buckets, double q);

class CallStats {
 public:
  // `methods`: the routed methods by number, as VersionCalls::Record
  // counts them.
  explicit CallStats(std::vector<std::string> methods);
  CallStats(const CallStats&) = delete;
  CallStats& operator=(const CallStats&) = delete;

  // Writer thread: the counters of `version` of `driver`, made on first
  // use and kept for the daemon's life (one set per version ever routed
  // to). Takes the lock: callers keep what it returns.
  VersionCalls* For(absl::string_view driver, absl::string_view version)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Writer thread: a routed call that reached no driver ended with `code`
  // (the driver named is unknown, stopped or FAILED, the request was
  // refused before routing). Not per driver: the name is the client's.
  void RecordUnrouted(int code);

  // Any thread.
  std::vector<VersionCallsSnapshot> Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  std::array<uint64_t, kGrpcCodeCount> Unrouted() const;
  // The totals of one version so far (zero if never routed to).
  CallTotals TotalsFor(absl::string_view driver,
                       absl::string_view version) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  VersionCallsSnapshot SnapshotOf(const VersionCalls& v) const;

  const std::vector<std::string> methods_;
  std::array<std::atomic<uint64_t>, kGrpcCodeCount> unrouted_{};
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<VersionCalls>> versions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_CALL_STATS_H_
