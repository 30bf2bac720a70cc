#ifndef PITSTOP_SUPERVISOR_CORE_INSTANCE_LOAD_H_
#define PITSTOP_SUPERVISOR_CORE_INSTANCE_LOAD_H_

// The calls in flight on one driver instance, by resource. The router holds
// a CallLease for every call it forwards; the supervisor reads the load to
// decide when a replaced instance has drained and whether a resource may be
// routed to the new version yet (a resource never has calls running on two
// versions at once).
//
// The load has its own small lock so that starting and ending a call does
// not take the supervisor's. Lock order: the supervisor's lock, then this.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pitstop {

class CallLease;

class InstanceLoad : public std::enable_shared_from_this<InstanceLoad> {
 public:
  // `on_drained` runs (without this lock) when, while the instance is
  // retiring, a resource's last call or the instance's last call ends.
  explicit InstanceLoad(std::function<void()> on_drained)
      : on_drained_(std::move(on_drained)) {}

  // Counts a call on `resource` ("" when the call names none) until the
  // returned lease is destroyed.
  std::shared_ptr<CallLease> Begin(std::string resource)
      ABSL_LOCKS_EXCLUDED(mu_);

  int calls() const ABSL_LOCKS_EXCLUDED(mu_);
  // Calls running on `resource`; 0 for "".
  int Busy(absl::string_view resource) const ABSL_LOCKS_EXCLUDED(mu_);
  // Resources with at least one call running.
  std::vector<std::string> BusyResources() const ABSL_LOCKS_EXCLUDED(mu_);

  // A retiring instance reports each drained resource through on_drained.
  void SetRetiring(bool retiring) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels every call still running (each lease's cancel function, if
  // set); returns how many there were.
  int CancelAll() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class CallLease;
  void End(CallLease& lease) ABSL_LOCKS_EXCLUDED(mu_);
  void SetCancel(CallLease& lease, std::function<void()> cancel)
      ABSL_LOCKS_EXCLUDED(mu_);

  const std::function<void()> on_drained_;

  mutable absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool retiring_ ABSL_GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, int> busy_ ABSL_GUARDED_BY(mu_);
  // Every live lease, linked through the leases themselves (no allocation
  // per call beyond the lease), for CancelAll.
  CallLease* leases_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// One call counted on an instance; ends when destroyed.
class CallLease {
 public:
  CallLease(std::shared_ptr<InstanceLoad> load, std::string resource)
      : load_(std::move(load)), resource_(std::move(resource)) {}
  ~CallLease() { load_->End(*this); }
  CallLease(const CallLease&) = delete;
  CallLease& operator=(const CallLease&) = delete;

  // How to cancel the call if its instance must give it up (the drain
  // timeout of a replaced instance passed). It runs under the load's lock,
  // so it must only ask for cancellation (the frame router posts the call's
  // abandonment to its event loop), never end the call itself. Clear it (an
  // empty function) before whatever it refers to goes away.
  void SetCancel(std::function<void()> cancel) {
    load_->SetCancel(*this, std::move(cancel));
  }

 private:
  friend class InstanceLoad;
  const std::shared_ptr<InstanceLoad> load_;
  const std::string resource_;
  // Guarded by load_->mu_ (the annotations cannot name another object's
  // lock).
  std::function<void()> cancel_;
  CallLease* prev_ = nullptr;
  CallLease* next_ = nullptr;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_INSTANCE_LOAD_H_
