#include "supervisor/core/event_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "supervisor/core/event_store.h"

namespace pitstop {

absl::Status EventLog::SetStore(EventStore* store) {
  store_ = store;
  absl::StatusOr<std::vector<DriverEvent>> saved = store->Recent(capacity_);
  if (!saved.ok()) {
    return absl::InternalError(absl::StrCat("the saved events cannot be read: ",
                                            saved.status().message()));
  }
  absl::MutexLock lock(&mu_);
  events_.clear();
  for (DriverEvent& e : *saved) {
    // Kept numbered without gaps (Since relies on it): a gap the store's
    // bounds made starts the kept history after it.
    if (!events_.empty() && e.sequence != events_.back().sequence + 1) {
      events_.clear();
    }
    events_.push_back(std::move(e));
  }
  last_ = events_.empty() ? 0 : events_.back().sequence;
  return absl::OkStatus();
}

uint64_t EventLog::Append(DriverEvent event) {
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&mu_);
    event.sequence = sequence = ++last_;
    event.time = clock_.Now();
    events_.push_back(event);
    while (events_.size() > capacity_) events_.pop_front();
  }
  // A failure is the store's to report (it logs, rate-limited).
  if (store_ != nullptr) (void)store_->Save(event);
  return sequence;
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

uint64_t EventLog::Last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

bool EventLog::AwaitAfter(uint64_t since, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto newer = [this, since]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return last_ > since; };
  return mu_.AwaitWithDeadline(absl::Condition(&newer), deadline);
}

}  // namespace pitstop
