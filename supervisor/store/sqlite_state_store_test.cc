#include "supervisor/store/sqlite_state_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-store-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

TEST_CASE("the desired state survives closing and reopening the database",
          "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  {
    auto store = SqliteStateStore::Open(db);
    REQUIRE(store.ok());
    REQUIRE((*store)->Load()->empty());
    REQUIRE((*store)->Save("flashpool", {false, false, ""}).ok());
    REQUIRE(
        (*store)->Save("nvpnet", {true, true, "exited with status 3"}).ok());
    REQUIRE((*store)->Save("flashpool", {true, false, ""}).ok());  // replaces
  }
  auto store = SqliteStateStore::Open(db);
  REQUIRE(store.ok());
  auto loaded = (*store)->Load();
  REQUIRE(loaded.ok());
  REQUIRE(loaded->size() == 2);
  REQUIRE(loaded->at("flashpool").enabled);
  REQUIRE(!loaded->at("flashpool").failed);
  REQUIRE(loaded->at("nvpnet").failed);
  REQUIRE(loaded->at("nvpnet").failed_reason == "exited with status 3");
}

TEST_CASE("versions and the upgrade in progress round-trip", "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  DesiredDriverState state;
  state.active_version = "2.0.0";
  state.previous_version = "1.0.0";
  state.upgrading_to = "3.0.0";
  REQUIRE((*SqliteStateStore::Open(db))->Save("flashpool", state).ok());
  auto loaded = (*SqliteStateStore::Open(db))->Load();
  REQUIRE(loaded->at("flashpool").active_version == "2.0.0");
  REQUIRE(loaded->at("flashpool").previous_version == "1.0.0");
  REQUIRE(loaded->at("flashpool").upgrading_to == "3.0.0");
}

TEST_CASE("pins round-trip per driver and are replaced whole", "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  DesiredDriverState state;
  state.pins = {{"volume/a", "1.0.0"}, {"volume/b", "2.0.0"}};
  DesiredDriverState other;
  other.pins = {{"network/n", "1.0.0"}};
  {
    auto store = *SqliteStateStore::Open(db);
    REQUIRE(store->Save("flashpool", state).ok());
    REQUIRE(store->Save("nvpnet", other).ok());
    state.pins.erase("volume/a");
    REQUIRE(store->Save("flashpool", state).ok());
  }
  auto loaded = (*SqliteStateStore::Open(db))->Load();
  REQUIRE(loaded->at("flashpool").pins ==
          std::map<std::string, std::string>{{"volume/b", "2.0.0"}});
  REQUIRE(loaded->at("nvpnet").pins == other.pins);
}

TEST_CASE(
    "a canary round-trips with its plan, step, gate and named resources, and "
    "is gone once saved without one",
    "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  DesiredDriverState state;
  state.active_version = "1.0.0";
  state.upgrading_to = "2.0.0";
  SavedCanary c;
  c.plan.steps = {0.5, 12.345678901234, 100};
  c.plan.named = {"volume/a", "volume/b,c"};
  c.plan.interval = absl::Seconds(90);
  c.plan.gate.max_error_rate_increase = 0.025;
  c.plan.gate.max_p99_ratio = 1.5;
  c.plan.gate.p99_floor = absl::Microseconds(2500);
  c.plan.gate.min_calls = 7;
  c.step = 1;
  c.paused = true;
  c.drain_timeout = absl::Seconds(20);
  c.probation = absl::Milliseconds(1500);
  state.canary = c;
  {
    auto store = *SqliteStateStore::Open(db);
    REQUIRE(store->Save("flashpool", state).ok());
    REQUIRE(store->Save("nvpnet", {}).ok());
  }
  auto loaded = (*SqliteStateStore::Open(db))->Load();
  REQUIRE(!loaded->at("nvpnet").canary);
  const std::optional<SavedCanary>& got = loaded->at("flashpool").canary;
  REQUIRE(got.has_value());
  REQUIRE(got->plan.steps == c.plan.steps);
  REQUIRE(got->plan.named == c.plan.named);
  REQUIRE(got->plan.interval == c.plan.interval);
  REQUIRE(got->plan.gate.max_error_rate_increase == 0.025);
  REQUIRE(got->plan.gate.max_p99_ratio == 1.5);
  REQUIRE(got->plan.gate.p99_floor == absl::Microseconds(2500));
  REQUIRE(got->plan.gate.min_calls == 7);
  REQUIRE(got->step == 1);
  REQUIRE(got->paused);
  REQUIRE(got->drain_timeout == absl::Seconds(20));
  REQUIRE(got->probation == absl::Milliseconds(1500));

  state.canary.reset();
  REQUIRE((*SqliteStateStore::Open(db))->Save("flashpool", state).ok());
  loaded = (*SqliteStateStore::Open(db))->Load();
  REQUIRE(!loaded->at("flashpool").canary);
  REQUIRE(loaded->at("flashpool").upgrading_to == "2.0.0");
}

TEST_CASE("a database from before versions were kept gains the columns",
          "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  {
    // The first release's schema, with a stopped driver in it.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw,
                         "CREATE TABLE drivers (name TEXT PRIMARY KEY, "
                         "enabled INTEGER NOT NULL, failed INTEGER NOT NULL, "
                         "failed_reason TEXT NOT NULL, updated_at TEXT NOT "
                         "NULL); INSERT INTO drivers VALUES ('nvpnet', 0, 0, "
                         "'', '2026-01-01T00:00:00Z');",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = SqliteStateStore::Open(db);
  REQUIRE(store.ok());
  auto loaded = (*store)->Load();
  REQUIRE(loaded.ok());
  REQUIRE(!loaded->at("nvpnet").enabled);
  REQUIRE(loaded->at("nvpnet").active_version.empty());
  DesiredDriverState upgraded;
  upgraded.active_version = "1.1.0";
  REQUIRE((*store)->Save("nvpnet", upgraded).ok());
  REQUIRE((*store)->Load()->at("nvpnet").active_version == "1.1.0");
}

TEST_CASE("a file that is not a database is refused with its name", "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  std::ofstream(db) << "this is not an SQLite database, just some text that "
                       "is long enough to have a header";
  auto store = SqliteStateStore::Open(db);
  REQUIRE(!store.ok());
  REQUIRE(store.status().message().find(db) != std::string::npos);
}

}  // namespace
}  // namespace pitstop
