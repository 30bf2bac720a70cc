#include "supervisor/core/call_stats.h"

#include <algorithm>
#include <utility>

#include "supervisor/common/check.h"

namespace pitstop {
namespace {

// One writer: a plain load and store, no locked read-modify-write.
void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
}

int Clamp(int code) { return code >= 0 && code < kGrpcCodeCount ? code : 2; }

}  // namespace

const std::vector<double>& CallLatencyBounds() {
  // From 100 µs (a routed call's cost on a quiet host) to 30 s (the default
  // call timeout), about three per decade.
  static const std::vector<double> bounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
  return bounds;
}

absl::string_view CodeLabel(int code) { return GrpcCodeName(Clamp(code)); }

bool IsDriverError(int code) {
  switch (code) {
    case 2:   // UNKNOWN
    case 4:   // DEADLINE_EXCEEDED
    case 13:  // INTERNAL
    case 14:  // UNAVAILABLE
    case 15:  // DATA_LOSS
      return true;
    default:
      return false;
  }
}

VersionCalls::VersionCalls(std::string driver, std::string version,
                           size_t methods)
    : driver_(std::move(driver)),
      version_(std::move(version)),
      method_count_(methods),
      methods_(new Method[methods]()) {
  CHECK(CallLatencyBounds().size() == kLatencyBoundCount);
}

void VersionCalls::Record(size_t method, int code, absl::Duration took) {
  Method& m = methods_[method];
  Add(m.codes[Clamp(code)], 1);
  const double seconds = absl::ToDoubleSeconds(took);
  const std::vector<double>& bounds = CallLatencyBounds();
  const size_t bucket =
      std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
  Add(m.buckets[bucket], 1);
  Add(m.sum_ns, static_cast<uint64_t>(
                    std::max<int64_t>(0, absl::ToInt64Nanoseconds(took))));
}

CallTotals TotalsOf(const VersionCallsSnapshot& v) {
  CallTotals t;
  t.buckets.assign(kLatencyBoundCount + 1, 0);
  for (const MethodCallsSnapshot& m : v.methods) {
    for (int c = 0; c < kGrpcCodeCount; ++c) {
      t.calls += m.codes[c];
      if (IsDriverError(c)) t.driver_errors += m.codes[c];
    }
    for (size_t b = 0; b < m.buckets.size(); ++b) t.buckets[b] += m.buckets[b];
    t.sum_seconds += m.sum_seconds;
  }
  return t;
}

double BucketQuantile(const std::vector<uint64_t>& buckets, double q) {
  uint64_t total = 0;
  for (uint64_t n : buckets) total += n;
  if (total == 0) return 0;
  const std::vector<double>& bounds = CallLatencyBounds();
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t b = 0; b < buckets.size(); ++b) {
    if (buckets[b] == 0 || static_cast<double>(below + buckets[b]) < rank) {
      below += buckets[b];
      continue;
    }
    if (b >= bounds.size()) return bounds.back();
    const double lower = b == 0 ? 0 : bounds[b - 1];
    const double within =
        (rank - static_cast<double>(below)) / static_cast<double>(buckets[b]);
    return lower + (bounds[b] - lower) * within;
  }
  return bounds.back();
}

CallStats::CallStats(std::vector<std::string> methods)
    : methods_(std::move(methods)) {}

VersionCalls* CallStats::For(absl::string_view driver,
                             absl::string_view version) {
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<VersionCalls>& v : versions_) {
    if (v->driver() == driver && v->version() == version) return v.get();
  }
  versions_.push_back(std::make_unique<VersionCalls>(
      std::string(driver), std::string(version), methods_.size()));
  return versions_.back().get();
}

void CallStats::RecordUnrouted(int code) { Add(unrouted_[Clamp(code)], 1); }

std::array<uint64_t, kGrpcCodeCount> CallStats::Unrouted() const {
  std::array<uint64_t, kGrpcCodeCount> out{};
  for (int c = 0; c < kGrpcCodeCount; ++c) {
    out[c] = unrouted_[c].load(std::memory_order_relaxed);
  }
  return out;
}

VersionCallsSnapshot CallStats::SnapshotOf(const VersionCalls& v) const {
  VersionCallsSnapshot s;
  s.driver = v.driver();
  s.version = v.version();
  for (size_t i = 0; i < v.method_count_; ++i) {
    const VersionCalls::Method& m = v.methods_[i];
    MethodCallsSnapshot ms;
    ms.method = methods_[i];
    ms.buckets.resize(kLatencyBoundCount + 1);
    for (size_t b = 0; b <= kLatencyBoundCount; ++b) {
      ms.buckets[b] = m.buckets[b].load(std::memory_order_relaxed);
      ms.count += ms.buckets[b];
    }
    if (ms.count == 0) continue;
    for (int c = 0; c < kGrpcCodeCount; ++c) {
      ms.codes[c] = m.codes[c].load(std::memory_order_relaxed);
    }
    ms.sum_seconds =
        static_cast<double>(m.sum_ns.load(std::memory_order_relaxed)) / 1e9;
    s.methods.push_back(std::move(ms));
  }
  return s;
}

std::vector<VersionCallsSnapshot> CallStats::Snapshot() const {
  std::vector<VersionCallsSnapshot> out;
  absl::MutexLock lock(&mu_);
  out.reserve(versions_.size());
  for (const std::unique_ptr<VersionCalls>& v : versions_) {
    out.push_back(SnapshotOf(*v));
  }
  return out;
}

CallTotals CallStats::TotalsFor(absl::string_view driver,
                                absl::string_view version) const {
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<VersionCalls>& v : versions_) {
    if (v->driver() == driver && v->version() == version) {
      return TotalsOf(SnapshotOf(*v));
    }
  }
  CallTotals none;
  none.buckets.assign(kLatencyBoundCount + 1, 0);
  return none;
}

}  // namespace pitstop
