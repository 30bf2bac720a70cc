#include "supervisor/core/call_history.h"

#include <algorithm>

namespace pitstop {

CallFigures FiguresBetween(const CallTotals* earlier, const CallTotals& later,
                           absl::Duration span) {
  CallFigures f;
  f.span = span;
  f.calls_total = later.calls;
  f.driver_errors_total = later.driver_errors;
  std::vector<uint64_t> buckets = later.buckets;
  f.calls = later.calls;
  f.driver_errors = later.driver_errors;
  if (earlier != nullptr) {
    f.calls -= std::min(f.calls, earlier->calls);
    f.driver_errors -= std::min(f.driver_errors, earlier->driver_errors);
    for (size_t b = 0; b < buckets.size() && b < earlier->buckets.size(); ++b) {
      buckets[b] -= std::min(buckets[b], earlier->buckets[b]);
    }
  }
  const double seconds = absl::ToDoubleSeconds(span);
  if (seconds > 0) f.calls_per_second = static_cast<double>(f.calls) / seconds;
  if (f.calls > 0) {
    f.error_rate =
        static_cast<double>(f.driver_errors) / static_cast<double>(f.calls);
  }
  f.p50_seconds = BucketQuantile(buckets, 0.5);
  f.p99_seconds = BucketQuantile(buckets, 0.99);
  return f;
}

std::vector<CallTotals> CallHistory::TakeTotals() const {
  const std::vector<VersionCallsSnapshot> snapshot = stats_.Snapshot();
  std::vector<CallTotals> totals;
  totals.reserve(snapshot.size());
  for (size_t i = 0; i < snapshot.size(); ++i) {
    if (i == keys_.size()) {
      keys_.emplace_back(snapshot[i].driver, snapshot[i].version);
    }
    totals.push_back(TotalsOf(snapshot[i]));
  }
  return totals;
}

void CallHistory::Sample(absl::Time now) {
  absl::MutexLock lock(&mu_);
  samples_.push_back({now, TakeTotals()});
  while (samples_.size() > capacity_) samples_.pop_front();
}

std::vector<CallFigures> CallHistory::Over(absl::Time now,
                                           absl::Duration window) const {
  absl::MutexLock lock(&mu_);
  const std::vector<CallTotals> current = TakeTotals();
  // The newest sample at least `window` old, else the oldest there is.
  const Taken* base = samples_.empty() ? nullptr : &samples_.front();
  for (const Taken& s : samples_) {
    if (s.at > now - window) break;
    base = &s;
  }
  std::vector<CallFigures> out;
  for (size_t i = 0; i < current.size(); ++i) {
    const CallTotals* earlier =
        base != nullptr && i < base->totals.size() ? &base->totals[i] : nullptr;
    CallFigures f =
        FiguresBetween(earlier, current[i],
                       base != nullptr ? now - base->at : absl::ZeroDuration());
    f.driver = keys_[i].first;
    f.version = keys_[i].second;
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<CallHistory::Point> CallHistory::Series(
    absl::string_view driver, absl::Duration window) const {
  absl::MutexLock lock(&mu_);
  std::vector<Point> out;
  if (samples_.empty()) return out;
  const absl::Time since = samples_.back().at - window;
  for (size_t s = 1; s < samples_.size(); ++s) {
    const Taken& before = samples_[s - 1];
    const Taken& now = samples_[s];
    if (now.at <= since) continue;
    Point& p = out.emplace_back();
    p.at = now.at;
    for (size_t i = 0; i < now.totals.size(); ++i) {
      if (keys_[i].first != driver) continue;
      const CallTotals* earlier =
          i < before.totals.size() ? &before.totals[i] : nullptr;
      CallFigures f =
          FiguresBetween(earlier, now.totals[i], now.at - before.at);
      f.driver = keys_[i].first;
      f.version = keys_[i].second;
      p.versions.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace pitstop
