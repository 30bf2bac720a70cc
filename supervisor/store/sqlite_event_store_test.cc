#include "supervisor/store/sqlite_event_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "absl/time/clock.h"
#include "supervisor/common/clock.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct TempDb {
  TempDb() {
    std::string t = (fs::temp_directory_path() / "pitstop-events-XXXXXX");
    dir = ::mkdtemp(t.data());
    path = dir + "/pitstopd.db";
  }
  ~TempDb() { fs::remove_all(dir); }
  std::string dir;
  std::string path;
};

DriverEvent Event(const std::string& driver, const std::string& reason) {
  DriverEvent e;
  e.driver = driver;
  e.kind = "state";
  e.from = DriverState::kStarting;
  e.to = DriverState::kReady;
  e.reason = reason;
  e.pid = 4242;
  return e;
}

TEST_CASE(
    "events survive a restart of the log and numbering goes on after them",
    "[store][events]") {
  TempDb db;
  RealClock clock;
  {
    auto store = SqliteEventStore::Open(db.path, {});
    REQUIRE(store.ok());
    EventLog log(clock);
    REQUIRE(log.SetStore(store->get()).ok());
    log.Append(Event("flashpool", "probe answered"));
    log.Append(Event("nvpnet", "stop requested by uid=0 gid=0 pid=7"));
  }
  auto store = SqliteEventStore::Open(db.path, {});
  REQUIRE(store.ok());
  EventLog log(clock);
  REQUIRE(log.SetStore(store->get()).ok());
  const std::vector<DriverEvent> kept = log.Since(0);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].sequence == 1);
  CHECK(kept[0].driver == "flashpool");
  CHECK(kept[0].to == DriverState::kReady);
  CHECK(kept[0].pid == 4242);
  CHECK(kept[1].reason == "stop requested by uid=0 gid=0 pid=7");
  CHECK(absl::Now() - kept[1].time < absl::Minutes(1));
  CHECK(log.Append(Event("flashpool", "again")) == 3);
}

TEST_CASE("the store keeps at most its count, the newest", "[store][events]") {
  TempDb db;
  RealClock clock;
  EventBounds bounds;
  bounds.max_count = 100;
  auto store = SqliteEventStore::Open(db.path, bounds);
  REQUIRE(store.ok());
  EventLog log(clock, 50);
  REQUIRE(log.SetStore(store->get()).ok());
  for (int i = 0; i < 1000; ++i) log.Append(Event("d", std::to_string(i)));
  auto recent = (*store)->Recent(100000);
  REQUIRE(recent.ok());
  // Pruned every 64 saves: never more than the bound and one batch.
  CHECK(recent->size() <= 100 + 64);
  CHECK(recent->back().reason == "999");
  // A log restarted from it keeps its own capacity, the newest.
  EventLog again(clock, 50);
  REQUIRE(again.SetStore(store->get()).ok());
  const std::vector<DriverEvent> kept = again.Since(0);
  REQUIRE(kept.size() == 50);
  CHECK(kept.front().sequence == 951);
  CHECK(kept.back().sequence == 1000);
}

TEST_CASE("events older than the age bound are dropped", "[store][events]") {
  TempDb db;
  FakeClock clock(absl::Now() - absl::Hours(48));
  {
    auto store = SqliteEventStore::Open(db.path, {});
    REQUIRE(store.ok());
    EventLog log(clock);
    REQUIRE(log.SetStore(store->get()).ok());
    log.Append(Event("old", "two days ago"));
    clock.Advance(absl::Hours(48));
    log.Append(Event("new", "now"));
  }
  EventBounds bounds;
  bounds.max_age = absl::Hours(24);
  auto store = SqliteEventStore::Open(db.path, bounds);
  REQUIRE(store.ok());
  auto recent = (*store)->Recent(10);
  REQUIRE(recent.ok());
  REQUIRE(recent->size() == 1);
  CHECK(recent->front().driver == "new");
}

}  // namespace
}  // namespace pitstop
