#include "supervisor/store/sqlite_repository_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "supervisor/store/sqlite_state_store.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-repostore-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

TEST_CASE("repositories and seen index versions survive reopening", "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  {
    auto store = SqliteRepositoryStore::Open(db);
    REQUIRE(store.ok());
    REQUIRE((*store)->LoadRepositories()->empty());
    REQUIRE(!(*store)->LoadSeenIndex("main")->has_value());
    REQUIRE((*store)->SaveRepository("main", "https://r.example").ok());
    REQUIRE((*store)->SaveSeenIndex("main", {7, "abc"}).ok());
  }
  auto store = SqliteRepositoryStore::Open(db);
  REQUIRE(store.ok());
  REQUIRE((*store)->LoadRepositories()->at("main") == "https://r.example");
  auto seen = (*store)->LoadSeenIndex("main");
  REQUIRE(seen.ok());
  REQUIRE((*seen)->version == 7);
  REQUIRE((*seen)->sha256 == "abc");
  // Never backwards.
  REQUIRE((*store)->SaveSeenIndex("main", {6, "old"}).ok());
  REQUIRE((*(*store)->LoadSeenIndex("main"))->version == 7);
  REQUIRE((*store)->SaveSeenIndex("main", {8, "new"}).ok());
  REQUIRE((*(*store)->LoadSeenIndex("main"))->sha256 == "new");
  REQUIRE((*store)->DeleteRepository("main").ok());
  REQUIRE((*store)->LoadRepositories()->empty());
  REQUIRE(!(*store)->LoadSeenIndex("main")->has_value());
}

TEST_CASE("a database from before repositories gains their tables", "[store]") {
  TempDir dir;
  const std::string db = (dir.path / "pitstopd.db").string();
  {
    // The schema of the earlier version, with a row.
    auto old = SqliteStateStore::Open(db);
    REQUIRE(old.ok());
    REQUIRE((*old)->Save("flashpool", {false, false, ""}).ok());
  }
  auto store = SqliteRepositoryStore::Open(db);
  REQUIRE(store.ok());
  REQUIRE((*store)->SaveSeenIndex("main", {1, "h"}).ok());
  auto state = SqliteStateStore::Open(db);
  REQUIRE(state.ok());
  REQUIRE((*state)->Load()->at("flashpool").enabled == false);
}

}  // namespace
}  // namespace pitstop
