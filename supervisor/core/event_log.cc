#include "supervisor/core/event_log.h"

#include <algorithm>

namespace pitstop {

uint64_t EventLog::Append(DriverEvent event) {
  absl::MutexLock lock(&mu_);
  event.sequence = ++last_;
  event.time = clock_.Now();
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) events_.pop_front();
  return last_;
}

std::vector<DriverEvent> EventLog::Since(uint64_t since,
                                         const std::string& driver,
                                         uint64_t* seen) {
  absl::MutexLock lock(&mu_);
  std::vector<DriverEvent> out;
  if (seen != nullptr) *seen = std::max(since, last_);
  if (events_.empty()) return out;
  // Kept events are numbered without gaps, the oldest first.
  const uint64_t first = events_.front().sequence;
  for (size_t i = since >= first ? since + 1 - first : 0; i < events_.size();
       ++i) {
    const DriverEvent& e = events_[i];
    if (driver.empty() || e.driver == driver) out.push_back(e);
  }
  return out;
}

bool EventLog::AwaitAfter(uint64_t since, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto newer = [this, since]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return last_ > since; };
  return mu_.AwaitWithDeadline(absl::Condition(&newer), deadline);
}

}  // namespace pitstop
