#include "supervisor/core/restart_policy.h"

#include <algorithm>

namespace pitstop {

RestartPolicy::Decision RestartPolicy::OnExit(absl::Time now) {
  if (ready_since_ != absl::InfiniteFuture() &&
      now - ready_since_ >= options_.reset_after) {
    Reset();
  }
  ready_since_ = absl::InfiniteFuture();
  while (!recent_.empty() && now - recent_.front() > options_.window) {
    recent_.pop_front();
  }
  recent_.push_back(now);
  if (recent_.size() > options_.max_restarts)
    return {true, absl::ZeroDuration()};
  // The first exit in a while is restarted at once: most crashes are
  // one-offs, and calls are waiting. Only repeated exits back off.
  if (recent_.size() == 1) return {false, absl::ZeroDuration()};
  absl::Duration delay = next_backoff_;
  next_backoff_ =
      std::min(next_backoff_ * options_.multiplier, options_.max_backoff);
  return {false, delay};
}

void RestartPolicy::Reset() {
  next_backoff_ = options_.initial_backoff;
  recent_.clear();
  ready_since_ = absl::InfiniteFuture();
}

}  // namespace pitstop
