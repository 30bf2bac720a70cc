#include "supervisor/store/sqlite_audit_log.h"

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct Db {
  Db() {
    std::string t = (fs::temp_directory_path() / "audit-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    path = dir + "/pitstopd.db";
  }
  ~Db() { fs::remove_all(dir); }
  void Exec(const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  std::string dir, path;
};

AuditRecord Action(const std::string& action) {
  AuditRecord r;
  r.actor = "uid=0 gid=0 pid=1";
  r.action = action;
  r.args = "{\"name\":\"flashpool\"}";
  return r;
}

TEST_CASE(
    "audit records chain by hash across reopening, and an untouched trail "
    "verifies",
    "[store]") {
  Db d;
  {
    auto log = SqliteAuditLog::Open(d.path);
    REQUIRE(log.ok());
    auto first = (*log)->Append(Action("StopDriver"));
    REQUIRE(first.ok());
    REQUIRE(first->seq == 1);
    REQUIRE(first->prev_hash.empty());
    REQUIRE(first->hash == AuditHash(*first));
  }
  auto log = SqliteAuditLog::Open(d.path);
  REQUIRE(log.ok());
  auto second = (*log)->Append(Action("StartDriver"));
  REQUIRE(second.ok());
  REQUIRE(second->seq == 2);
  auto all = (*log)->List(0, 10);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  REQUIRE((*all)[1].prev_hash == (*all)[0].hash);
  REQUIRE((*all)[0].action == "StopDriver");
  auto verdict = (*log)->Verify();
  REQUIRE(verdict.ok());
  REQUIRE(verdict->intact);
  REQUIRE(verdict->records == 2);
  REQUIRE(verdict->last_hash == second->hash);
}

TEST_CASE("an edited, a deleted or a re-hashed record is found and named",
          "[store]") {
  Db d;
  auto log = SqliteAuditLog::Open(d.path);
  REQUIRE(log.ok());
  for (const char* a : {"StopDriver", "StartDriver", "RemoveDriver"}) {
    REQUIRE((*log)->Append(Action(a)).ok());
  }
  SECTION("edited") {
    d.Exec("UPDATE audit SET args = '{}' WHERE seq = 2");
    auto v = (*log)->Verify();
    REQUIRE(v.ok());
    REQUIRE(!v->intact);
    REQUIRE(v->first_bad_seq == 2);
    REQUIRE(v->why.find("edited") != std::string::npos);
  }
  SECTION("deleted") {
    d.Exec("DELETE FROM audit WHERE seq = 2");
    auto v = (*log)->Verify();
    REQUIRE(!v->intact);
    REQUIRE(v->first_bad_seq == 3);
    REQUIRE(v->why == "records 2 to 2 are missing");
  }
  SECTION("edited and its hash recomputed") {
    AuditRecord r = *(*log)->List(1, 1)->begin();
    r.action = "InstallDriver";
    const std::string forged = AuditHash(r);
    d.Exec(("UPDATE audit SET action = 'InstallDriver', hash = '" + forged +
            "' WHERE seq = 2")
               .c_str());
    auto v = (*log)->Verify();
    REQUIRE(!v->intact);
    REQUIRE(v->first_bad_seq == 3);
    REQUIRE(v->why.find("previous hash") != std::string::npos);
  }
}

}  // namespace
}  // namespace pitstop
