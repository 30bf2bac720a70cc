#include "supervisor/rpc/audit_queue.h"

#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "supervisor/common/logging.h"
#include "supervisor/rpc/audit_interceptor.h"

namespace pitstop {

AuditQueue::AuditQueue(AuditTrail& trail, size_t capacity)
    : trail_(trail), capacity_(capacity), worker_([this] { Run(); }) {}

AuditQueue::~AuditQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
}

void AuditQueue::Offer(AuditRecord record) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() < capacity_) {
    queue_.push_back(std::move(record));
    return;
  }
  int64_t count = 0;
  if (dropped_log_.Allow(absl::Now(), &count)) {
    LogWarning(
        "audit",
        "refused calls come faster than the audit trail takes them: "
        "records of refusals dropped",
        {{"dropped", std::to_string(count)}, {"last_actor", record.actor}});
  }
}

void AuditQueue::Run() {
  while (true) {
    AuditRecord record;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, nothing left
      record = std::move(queue_.front());
      queue_.pop_front();
    }
    AppendAndLog(trail_, std::move(record));
  }
}

}  // namespace pitstop
