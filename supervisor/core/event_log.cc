#include "supervisor/core/event_log.h"

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
                                         const std::string& driver) {
  absl::MutexLock lock(&mu_);
  std::vector<DriverEvent> out;
  for (const DriverEvent& e : events_) {
    if (e.sequence > since && (driver.empty() || e.driver == driver)) {
      out.push_back(e);
    }
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
