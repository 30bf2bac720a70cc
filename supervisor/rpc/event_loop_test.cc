#include "supervisor/rpc/event_loop.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace pitstop {
namespace {

// Records what the loop hands it; stops the loop once `stop_after` timers
// have fired.
struct Recorder {
  EventLoop& loop;
  size_t stop_after = 0;
  std::vector<uint64_t> fired;
  int settles = 0;

  bool Busy() const { return false; }
  void OnEvent(void*, uint32_t) {}
  void OnTimer(uint64_t id) { fired.push_back(id); }
  void Settle() {
    ++settles;
    if (stop_after > 0 && fired.size() == stop_after) loop.RequestStop();
  }
};

TEST_CASE("a task posted from another thread runs on the loop's thread",
          "[rpc]") {
  EventLoop loop;
  Recorder recorder{loop};
  std::thread::id ran_on;
  bool on_loop_thread = false;
  std::thread runner([&] { loop.Run(recorder); });
  loop.mailbox()->Post([&] {
    ran_on = std::this_thread::get_id();
    on_loop_thread = loop.checker().CalledOnLoopThread();
    loop.RequestStop();
  });
  const std::thread::id runner_id = runner.get_id();
  runner.join();
  REQUIRE(ran_on == runner_id);
  REQUIRE(on_loop_thread);
  REQUIRE_FALSE(loop.checker().CalledOnLoopThread());  // this thread
}

TEST_CASE("timers fire in deadline order, and a cancelled one never", "[rpc]") {
  EventLoop loop;
  Recorder recorder{loop, /*stop_after=*/3};
  const absl::Time now = absl::Now();
  // Added on the constructing thread, which owns the loop until Run.
  loop.AddTimer(now + absl::Milliseconds(30), 3);
  loop.AddTimer(now + absl::Milliseconds(10), 1);
  EventLoop::TimerHandle cancelled =
      loop.AddTimer(now + absl::Milliseconds(15), 99);
  loop.AddTimer(now + absl::Milliseconds(20), 2);
  loop.CancelTimer(cancelled);
  std::thread runner([&] { loop.Run(recorder); });
  runner.join();
  REQUIRE(recorder.fired == std::vector<uint64_t>{1, 2, 3});
  REQUIRE(absl::Now() >= now + absl::Milliseconds(30));
}

TEST_CASE("a task posted after the loop ended is dropped, not run", "[rpc]") {
  EventLoop loop;
  Recorder recorder{loop};
  std::thread runner([&] { loop.Run(recorder); });
  loop.RequestStop();
  runner.join();
  auto flag = std::make_shared<bool>(false);
  loop.mailbox()->Post([flag] { *flag = true; });
  REQUIRE_FALSE(*flag);
  REQUIRE(flag.use_count() == 1);  // the dropped task is destroyed at once
}

}  // namespace
}  // namespace pitstop
