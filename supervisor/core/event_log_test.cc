#include "supervisor/core/event_log.h"

#include <catch2/catch.hpp>
#include <thread>

#include "absl/time/clock.h"

namespace pitstop {
namespace {

TEST_CASE("the event log numbers events and keeps the most recent", "[core]") {
  FakeClock clock;
  EventLog log(clock, 3);
  for (int i = 0; i < 5; ++i) {
    DriverEvent e;
    e.driver = i % 2 ? "a" : "b";
    e.kind = "state";
    REQUIRE(log.Append(e) == static_cast<uint64_t>(i + 1));
  }
  auto all = log.Since(0);
  REQUIRE(all.size() == 3);
  REQUIRE(all.front().sequence == 3);
  REQUIRE(all.back().sequence == 5);
  REQUIRE(all.back().time == clock.Now());
  REQUIRE(log.Since(4).size() == 1);
  REQUIRE(log.Since(0, "a").size() == 1);
  REQUIRE(log.Since(5).empty());
}

TEST_CASE(
    "a watcher of one driver learns how far it looked, so other drivers' "
    "events do not wake it again",
    "[core]") {
  FakeClock clock;
  EventLog log(clock);
  for (const char* driver : {"a", "b", "b"}) {
    DriverEvent e;
    e.driver = driver;
    log.Append(e);
  }
  uint64_t seen = 0;
  auto mine = log.Since(0, "a", &seen);
  REQUIRE(mine.size() == 1);
  REQUIRE(seen == 3);
  // Nothing newer than what it looked at: it would sleep, not spin.
  REQUIRE(!log.AwaitAfter(seen, absl::Now()));
  REQUIRE(log.Since(seen, "a", &seen).empty());
  REQUIRE(seen == 3);
  DriverEvent e;
  e.driver = "a";
  log.Append(e);
  REQUIRE(log.AwaitAfter(seen, absl::Now()));
  auto next = log.Since(seen, "a", &seen);
  REQUIRE(next.size() == 1);
  REQUIRE(next[0].sequence == 4);
  REQUIRE(seen == 4);
  // A `since` ahead of the log finds nothing and is kept.
  REQUIRE(log.Since(10, "", &seen).empty());
  REQUIRE(seen == 10);
}

TEST_CASE("a watcher wakes when a newer event arrives", "[core]") {
  FakeClock clock;
  EventLog log(clock);
  REQUIRE(!log.AwaitAfter(0, absl::Now()));
  std::thread writer([&] { log.Append(DriverEvent{}); });
  REQUIRE(log.AwaitAfter(0, absl::Now() + absl::Seconds(10)));
  writer.join();
  REQUIRE(log.AwaitAfter(0, absl::Now()));
}

}  // namespace
}  // namespace pitstop
