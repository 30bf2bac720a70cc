#include "supervisor/core/instance_load.h"

#include <vector>

namespace pitstop {

std::shared_ptr<CallLease> InstanceLoad::Begin(std::string resource) {
  auto lease = std::make_shared<CallLease>(shared_from_this(), resource);
  absl::MutexLock lock(&mu_);
  ++calls_;
  if (!resource.empty()) ++busy_[std::move(resource)];
  lease->next_ = leases_;
  if (leases_ != nullptr) leases_->prev_ = lease.get();
  leases_ = lease.get();
  return lease;
}

void InstanceLoad::End(CallLease& lease) {
  bool drained = false;
  std::function<void()> cancel;  // destroyed outside the lock
  {
    absl::MutexLock lock(&mu_);
    --calls_;
    if (!lease.resource_.empty()) {
      auto it = busy_.find(lease.resource_);
      if (it != busy_.end() && --it->second == 0) {
        busy_.erase(it);
        drained = retiring_;
      }
    }
    if (calls_ == 0) drained = drained || retiring_;
    if (lease.prev_ != nullptr) lease.prev_->next_ = lease.next_;
    if (lease.next_ != nullptr) lease.next_->prev_ = lease.prev_;
    if (leases_ == &lease) leases_ = lease.next_;
    cancel = std::move(lease.cancel_);
  }
  if (drained && on_drained_) on_drained_();
}

int InstanceLoad::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

int InstanceLoad::Busy(absl::string_view resource) const {
  if (resource.empty()) return 0;
  absl::MutexLock lock(&mu_);
  auto it = busy_.find(std::string(resource));
  return it == busy_.end() ? 0 : it->second;
}

std::vector<std::string> InstanceLoad::BusyResources() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(busy_.size());
  for (const auto& [resource, n] : busy_) out.push_back(resource);
  return out;
}

void InstanceLoad::SetRetiring(bool retiring) {
  absl::MutexLock lock(&mu_);
  retiring_ = retiring;
}

void InstanceLoad::SetCancel(CallLease& lease, std::function<void()> cancel) {
  std::function<void()> old;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  old = std::exchange(lease.cancel_, std::move(cancel));
}

int InstanceLoad::CancelAll() {
  // Under the lock: a forwarder clears its function (taking this lock)
  // before the call it refers to goes away. A cancel function only asks
  // gRPC to cancel; the call ends later on its own thread.
  absl::MutexLock lock(&mu_);
  for (CallLease* l = leases_; l != nullptr; l = l->next_) {
    if (l->cancel_) l->cancel_();
  }
  return calls_;
}

}  // namespace pitstop
