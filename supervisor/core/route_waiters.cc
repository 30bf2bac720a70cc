#include "supervisor/core/route_waiters.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "supervisor/common/error_reason.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/resource_target.h"

namespace pitstop {

void RouteWaiters::Park(Waiter waiter) {
  std::string resource = waiter.resource;
  by_resource_[std::move(resource)].push_back(std::move(waiter));
  ++size_;
}

void RouteWaiters::Resolve(absl::FunctionRef<bool(Waiter&)> answer) {
  for (auto it = by_resource_.begin(); it != by_resource_.end();) {
    std::deque<Waiter> keep;
    for (Waiter& w : it->second) {
      if (answer(w)) {
        --size_;
      } else {
        keep.push_back(std::move(w));
      }
    }
    if (keep.empty()) {
      it = by_resource_.erase(it);
    } else {
      it->second = std::move(keep);
      ++it;
    }
  }
}

std::vector<Waiter> RouteWaiters::TakeAll() {
  std::vector<Waiter> out;
  out.reserve(size_);
  for (auto& [resource, queue] : by_resource_) {
    for (Waiter& w : queue) out.push_back(std::move(w));
  }
  by_resource_.clear();
  size_ = 0;
  return out;
}

bool AnswerWaiter(const std::string& name, DriverRecord& r, absl::Time now,
                  Waiter& w, Effects& effects, absl::Time& next) {
  // The serving instance, or the one a pin or a canary sends the resource
  // to.
  const Instance* inst = ResourceTarget(name, r, w.resource);
  const bool ready =
      inst != nullptr && inst->alive() &&
      (inst == r.instance.get() ? r.state == DriverState::kReady
                                : inst->phase == InstancePhase::kReady ||
                                      inst->phase == InstancePhase::kStandby);
  // A resource never has calls on two processes at once: one still busy on
  // another (a replaced instance, or the version a canary step moved it
  // from) waits until those calls end.
  auto busy_on = [&w, inst](const Instance* other) {
    return other != nullptr && other != inst && !other->exited() &&
           (other->load->Busy(w.resource) > 0 ||
            other->held.count(w.resource) > 0);
  };
  const bool busy_on_old = !w.resource.empty() && (busy_on(r.retiring.get()) ||
                                                   busy_on(r.successor.get()) ||
                                                   busy_on(r.instance.get()));
  if (ready && !busy_on_old &&
      (inst->id != w.avoid_instance || now >= w.avoid_until)) {
    Route route;
    route.driver = name;
    route.instance_id = inst->id;
    route.pid = inst->pid;
    route.socket_path = inst->socket_path;
    route.package = inst->package;
    route.endpoint = inst->endpoint;
    route.lease = inst->load->Begin(std::move(w.resource));
    effects.replies.emplace_back(std::move(w.done), std::move(route));
  } else if (r.state == DriverState::kFailed) {
    effects.replies.emplace_back(
        std::move(w.done),
        WithReason(absl::UnavailableError(absl::StrCat(
                       "driver ", name, " has FAILED: ", r.message)),
                   "DRIVER_FAILED"));
  } else if (!r.unresolved.empty()) {
    effects.replies.emplace_back(
        std::move(w.done),
        WithReason(absl::FailedPreconditionError(absl::StrCat(
                       "driver ", name, " cannot start: ", r.unresolved)),
                   "DRIVER_CANNOT_START"));
  } else if (!r.want_running && r.state == DriverState::kStopped) {
    effects.replies.emplace_back(
        std::move(w.done),
        WithReason(absl::FailedPreconditionError(
                       absl::StrCat("driver ", name,
                                    " is stopped; start it with `pitstop "
                                    "start ",
                                    name, "`")),
                   "DRIVER_STOPPED"));
  } else if (now >= w.deadline) {
    effects.replies.emplace_back(
        std::move(w.done),
        WithReason(absl::DeadlineExceededError(absl::StrCat(
                       "driver ", name,
                       " did not become ready before the call's deadline "
                       "(state ",
                       DriverStateName(r.state), r.message.empty() ? "" : ": ",
                       r.message, ")")),
                   "DRIVER_NOT_READY"));
  } else {
    next = std::min(next, w.deadline);
    if (ready && !busy_on_old) next = std::min(next, w.avoid_until);
    return false;
  }
  return true;
}

}  // namespace pitstop
