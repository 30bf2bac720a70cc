#ifndef PITSTOP_SUPERVISOR_RPC_CALL_GATE_H_
#define PITSTOP_SUPERVISOR_RPC_CALL_GATE_H_

// Counts the routed calls in flight, and closes to new ones at shutdown;
// counts the client connections open, for a hand-over that waits until
// every client has gone elsewhere. Thread-safe.

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pitstop {

class CallGate {
 public:
  // False once closed; otherwise counts the call until Ended.
  bool Started() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (closed_) return false;
    ++in_flight_;
    return true;
  }
  void Ended() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
  }
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void ClientOpened() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++clients_;
  }
  void ClientClosed() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    --clients_;
  }
  // Blocks until no client connection is open or `deadline` passes; true
  // when none is.
  bool AwaitNoClients(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return clients_ == 0;
    };
    return mu_.AwaitWithDeadline(absl::Condition(&none), deadline);
  }
  // Blocks until no call is in flight or `deadline` passes; true when idle.
  bool AwaitIdle(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ == 0;
    };
    return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }

 private:
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int clients_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_CALL_GATE_H_
