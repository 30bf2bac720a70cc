#include "supervisor/core/instance_load.h"

#include <vector>

namespace pitstop {

std::shared_ptr<CallLease> InstanceLoad::Begin(std::string resource) {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    ++calls_;
    if (!resource.empty()) ++busy_[resource];
  }
  return std::make_shared<CallLease>(shared_from_this(), id,
                                     std::move(resource));
}

void InstanceLoad::End(uint64_t id, const std::string& resource) {
  bool drained = false;
  std::function<void()> cancel;  // destroyed outside the lock
  {
    absl::MutexLock lock(&mu_);
    --calls_;
    if (!resource.empty()) {
      auto it = busy_.find(resource);
      if (it != busy_.end() && --it->second == 0) {
        busy_.erase(it);
        drained = retiring_;
      }
    }
    if (calls_ == 0) drained = drained || retiring_;
    auto c = cancels_.find(id);
    if (c != cancels_.end()) {
      cancel = std::move(c->second);
      cancels_.erase(c);
    }
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

void InstanceLoad::SetCancel(uint64_t id, std::function<void()> cancel) {
  std::function<void()> old;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  if (cancel) {
    old = std::exchange(cancels_[id], std::move(cancel));
  } else if (auto it = cancels_.find(id); it != cancels_.end()) {
    old = std::move(it->second);
    cancels_.erase(it);
  }
}

int InstanceLoad::CancelAll() {
  // Under the lock: a forwarder clears its function (taking this lock)
  // before the call it refers to goes away. A cancel function only asks
  // gRPC to cancel; the call ends later on its own thread.
  absl::MutexLock lock(&mu_);
  for (auto& [id, cancel] : cancels_) cancel();
  return calls_;
}

}  // namespace pitstop
