#include "supervisor/core/route_waiters.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "supervisor/core/driver_record.h"
#include "supervisor/core/effects.h"

namespace pitstop {
namespace {

Waiter MakeWaiter(const std::string& resource, int tag,
                  std::vector<int>* answered, absl::Time deadline) {
  Waiter w;
  w.resource = resource;
  w.deadline = deadline;
  w.done = [tag, answered](absl::StatusOr<Route>) { answered->push_back(tag); };
  return w;
}

TEST_CASE(
    "parked calls are offered resource by resource in arrival order, "
    "and only the unanswered stay",
    "[core]") {
  RouteWaiters waiters;
  std::vector<int> answered;
  const absl::Time later = absl::UnixEpoch() + absl::Seconds(10);
  waiters.Park(MakeWaiter("volume/b", 1, &answered, later));
  waiters.Park(MakeWaiter("volume/a", 2, &answered, later));
  waiters.Park(MakeWaiter("volume/b", 3, &answered, later));
  waiters.Park(MakeWaiter("", 4, &answered, later));
  REQUIRE(waiters.size() == 4);

  std::vector<std::string> offered;
  waiters.Resolve([&](Waiter& w) {
    offered.push_back(w.resource);
    if (w.resource != "volume/b") return false;
    w.done(absl::CancelledError("answered"));
    return true;
  });
  REQUIRE(offered ==
          std::vector<std::string>{"", "volume/a", "volume/b", "volume/b"});
  REQUIRE(answered == std::vector<int>{1, 3});
  REQUIRE(waiters.size() == 2);

  std::vector<Waiter> left = waiters.TakeAll();
  REQUIRE(left.size() == 2);
  REQUIRE(waiters.empty());
}

TEST_CASE(
    "a parked call is answered once its driver is READY, and at its "
    "deadline otherwise",
    "[core]") {
  DriverRecord r;
  r.state = DriverState::kStarting;
  r.want_running = true;
  r.instance = std::make_unique<Instance>();
  r.instance->id = 7;
  r.instance->pid = 1234;
  r.instance->phase = InstancePhase::kStarting;
  r.instance->load = std::make_shared<InstanceLoad>([] {});
  const absl::Time now = absl::UnixEpoch() + absl::Seconds(100);

  std::vector<int> answered;
  Waiter w = MakeWaiter("volume/a", 1, &answered, now + absl::Seconds(5));
  Effects effects;
  absl::Time next = absl::InfiniteFuture();
  REQUIRE_FALSE(AnswerWaiter("flashpool", r, now, w, effects, next));
  REQUIRE(next == now + absl::Seconds(5));
  REQUIRE(effects.replies.empty());

  r.state = DriverState::kReady;
  r.instance->phase = InstancePhase::kReady;
  REQUIRE(AnswerWaiter("flashpool", r, now, w, effects, next));
  REQUIRE(effects.replies.size() == 1);
  REQUIRE(effects.replies[0].second.ok());
  REQUIRE(effects.replies[0].second->instance_id == 7);
  REQUIRE(r.instance->load->Busy("volume/a") == 1);

  r.state = DriverState::kStarting;
  Waiter late = MakeWaiter("volume/b", 2, &answered, now);
  REQUIRE(AnswerWaiter("flashpool", r, now, late, effects, next));
  REQUIRE(absl::IsDeadlineExceeded(effects.replies[1].second.status()));
  REQUIRE(std::string(effects.replies[1].second.status().message())
              .find("flashpool") != std::string::npos);
}

}  // namespace
}  // namespace pitstop
