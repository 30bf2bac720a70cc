#ifndef PITSTOP_SUPERVISOR_CORE_ROUTE_WAITERS_H_
#define PITSTOP_SUPERVISOR_CORE_ROUTE_WAITERS_H_

// The route requests parked on one driver until it has a READY instance for
// them (or their deadline passes), indexed by resource: the calls on one
// resource are answered in the order they came.
//
// Not thread-safe: each driver record holds one, under the Supervisor's
// lock.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "supervisor/core/route_source.h"

namespace pitstop {

struct DriverRecord;
struct Effects;

struct Waiter {
  std::string resource;  // "type/id", or "" for a call that names none
  absl::Time deadline;
  // Skipped until avoid_until: it just refused a connection.
  uint64_t avoid_instance = 0;
  absl::Time avoid_until;
  RouteCallback done;
};

class RouteWaiters {
 public:
  void Park(Waiter waiter);
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  // Offers every parked request to `answer`, resource by resource in
  // arrival order; those it answers (returns true) leave.
  void Resolve(absl::FunctionRef<bool(Waiter&)> answer);

  // Removes and returns every parked request.
  std::vector<Waiter> TakeAll();

 private:
  std::map<std::string, std::deque<Waiter>> by_resource_;
  size_t size_ = 0;
};

// Answers `w` for driver `name` when it can be: with a route to the READY
// instance (unless its resource is still busy on a replaced instance), or
// with the error that says why it never will be (FAILED, cannot start,
// stopped, deadline passed). Otherwise lowers `next` to when it must be
// looked at again and returns false. The answer is queued in `effects`, to
// run after the lock is released.
bool AnswerWaiter(const std::string& name, DriverRecord& r, absl::Time now,
                  Waiter& w, Effects& effects, absl::Time& next);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_ROUTE_WAITERS_H_
