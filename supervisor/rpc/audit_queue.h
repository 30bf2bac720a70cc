#ifndef PITSTOP_SUPERVISOR_RPC_AUDIT_QUEUE_H_
#define PITSTOP_SUPERVISOR_RPC_AUDIT_QUEUE_H_

// Audit records the router's loop thread hands off (the admin calls it
// refused before they reached the admin service): appended in order by one
// worker thread, so the loop never waits for the database. At most
// `capacity` records wait; past that they are dropped and counted, and the
// count logged at most once a second, so a flood of refusals costs a
// bounded amount. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/common/log_limiter.h"
#include "supervisor/core/audit_trail.h"

namespace pitstop {

class AuditQueue {
 public:
  explicit AuditQueue(AuditTrail& trail, size_t capacity = 1024);
  // Appends what is still queued, then stops the worker.
  ~AuditQueue();
  AuditQueue(const AuditQueue&) = delete;
  AuditQueue& operator=(const AuditQueue&) = delete;

  // Queues `record` for the trail; never blocks on the database.
  void Offer(AuditRecord record) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  AuditTrail& trail_;
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  LogLimiter dropped_log_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_AUDIT_QUEUE_H_
