#ifndef PITSTOP_SUPERVISOR_CORE_RESTART_POLICY_H_
#define PITSTOP_SUPERVISOR_CORE_RESTART_POLICY_H_

// When to restart a driver that died: at once after a first exit, then with
// exponential backoff (initial_backoff doubling up to max_backoff), reset
// after the driver stayed READY long enough, and a restart intensity limit
// (more than max_restarts within `window` gives up: FAILED until an
// operator acts).
// Not thread-safe: owned by one driver record under the supervisor's lock.

#include <cstdint>
#include <deque>

#include "absl/time/time.h"

namespace pitstop {

struct RestartPolicyOptions {
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(30);
  double multiplier = 2.0;
  // READY for this long forgives earlier crashes.
  absl::Duration reset_after = absl::Seconds(60);
  uint32_t max_restarts = 10;
  absl::Duration window = absl::Seconds(60);
};

class RestartPolicy {
 public:
  explicit RestartPolicy(RestartPolicyOptions options = {})
      : options_(options), next_backoff_(options.initial_backoff) {}

  // The instance became READY at `when`.
  void OnReady(absl::Time when) { ready_since_ = when; }

  // The instance died at `now`. Returns the delay before the next start, or
  // give_up when the restart intensity is exceeded.
  struct Decision {
    bool give_up = false;
    absl::Duration delay;
  };
  Decision OnExit(absl::Time now);

  // An operator restart or start: forget the history.
  void Reset();

  uint32_t recent_restarts() const {
    return static_cast<uint32_t>(recent_.size());
  }
  const RestartPolicyOptions& options() const { return options_; }

 private:
  RestartPolicyOptions options_;
  absl::Duration next_backoff_;
  absl::Time ready_since_ = absl::InfiniteFuture();
  std::deque<absl::Time> recent_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_RESTART_POLICY_H_
