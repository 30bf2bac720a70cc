#include "supervisor/store/sqlite_repository_store.h"

#include <sqlite3.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/store/sqlite_database.h"

namespace pitstop {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS repositories (
  name      TEXT PRIMARY KEY,
  url       TEXT NOT NULL,
  added_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS repository_index_seen (
  name      TEXT PRIMARY KEY,
  version   INTEGER NOT NULL,
  sha256    TEXT NOT NULL,
  seen_at   TEXT NOT NULL
);
)sql";

using Statement = SqliteStatement;

std::string Now() {
  return absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
}

std::string Text(sqlite3_stmt* s, int column) {
  const auto* t = sqlite3_column_text(s, column);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteRepositoryStore>>
SqliteRepositoryStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(sqlite3 * db, OpenSqliteDatabase(path, kSchema));
  return std::unique_ptr<SqliteRepositoryStore>(
      new SqliteRepositoryStore(path, db));
}

SqliteRepositoryStore::~SqliteRepositoryStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status SqliteRepositoryStore::Error(const char* what) {
  return absl::InternalError(
      absl::StrCat(what, " in ", path_, ": ", sqlite3_errmsg(db_)));
}

absl::Status SqliteRepositoryStore::Exec(
    const char* what, const char* sql, const std::vector<std::string>& params) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return Error(what);
  }
  Statement stmt(raw);
  for (size_t i = 0; i < params.size(); ++i) {
    sqlite3_bind_text(stmt.get(), static_cast<int>(i + 1), params[i].c_str(),
                      -1, SQLITE_TRANSIENT);
  }
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) return Error(what);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>>
SqliteRepositoryStore::LoadRepositories() {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT name, url FROM repositories", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return Error("reading the repositories");
  }
  Statement stmt(raw);
  std::map<std::string, std::string> out;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    out[Text(stmt.get(), 0)] = Text(stmt.get(), 1);
  }
  if (rc != SQLITE_DONE) return Error("reading the repositories");
  return out;
}

absl::Status SqliteRepositoryStore::SaveRepository(const std::string& name,
                                                   const std::string& url) {
  absl::MutexLock lock(&mu_);
  return Exec("saving a repository",
              "INSERT INTO repositories (name, url, added_at) VALUES (?1, ?2, "
              "?3) ON CONFLICT(name) DO UPDATE SET url = ?2, added_at = ?3",
              {name, url, Now()});
}

absl::Status SqliteRepositoryStore::DeleteRepository(const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Exec("removing a repository",
                            "DELETE FROM repositories WHERE name = ?1", {name});
      !s.ok()) {
    return s;
  }
  return Exec("removing a repository",
              "DELETE FROM repository_index_seen WHERE name = ?1", {name});
}

absl::StatusOr<std::optional<SeenIndex>> SqliteRepositoryStore::LoadSeenIndex(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "SELECT version, sha256 FROM repository_index_seen WHERE name = ?1",
          -1, &raw, nullptr) != SQLITE_OK) {
    return Error("reading a repository's index version");
  }
  Statement stmt(raw);
  sqlite3_bind_text(stmt.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<SeenIndex>();
  if (rc != SQLITE_ROW) return Error("reading a repository's index version");
  SeenIndex seen;
  seen.version = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
  seen.sha256 = Text(stmt.get(), 1);
  return std::optional<SeenIndex>(seen);
}

absl::Status SqliteRepositoryStore::SaveSeenIndex(const std::string& name,
                                                  const SeenIndex& seen) {
  absl::MutexLock lock(&mu_);
  // The version only grows, even if two writers race.
  return Exec("saving a repository's index version",
              "INSERT INTO repository_index_seen (name, version, sha256, "
              "seen_at) VALUES (?1, CAST(?2 AS INTEGER), ?3, ?4) "
              "ON CONFLICT(name) DO UPDATE SET version = excluded.version, "
              "sha256 = excluded.sha256, seen_at = excluded.seen_at "
              "WHERE excluded.version > repository_index_seen.version",
              {name, absl::StrCat(seen.version), seen.sha256, Now()});
}

}  // namespace pitstop
