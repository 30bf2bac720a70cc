#include "supervisor/store/sqlite_state_store.h"

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
