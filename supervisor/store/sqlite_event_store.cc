#include "supervisor/store/sqlite_event_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/driver_state.h"
#include "supervisor/store/sqlite_database.h"

namespace pitstop {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS events (
  seq         INTEGER PRIMARY KEY,
  at_us       INTEGER NOT NULL,
  driver      TEXT NOT NULL,
  kind        TEXT NOT NULL,
  from_state  TEXT NOT NULL,
  to_state    TEXT NOT NULL,
  reason      TEXT NOT NULL,
  pid         INTEGER NOT NULL
);
)sql";

constexpr size_t kPruneEvery = 64;
// States are stored by name (DriverStateName): the enum's order is not a
// file format.

std::string Text(sqlite3_stmt* s, int column) {
  const auto* t = sqlite3_column_text(s, column);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteEventStore>> SqliteEventStore::Open(
    const std::string& path, const EventBounds& bounds) {
  ASSIGN_OR_RETURN(sqlite3 * db, OpenSqliteDatabase(path, kSchema));
  std::unique_ptr<SqliteEventStore> store(
      new SqliteEventStore(path, db, bounds));
  absl::MutexLock lock(&store->mu_);
  RETURN_IF_ERROR(store->Prune());
  return store;
}

SqliteEventStore::~SqliteEventStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status SqliteEventStore::Error(const char* what) {
  return absl::InternalError(
      absl::StrCat(what, " in ", path_, ": ", sqlite3_errmsg(db_)));
}

absl::Status SqliteEventStore::Prune() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "DELETE FROM events WHERE at_us < ? OR seq <= "
                         "(SELECT MAX(seq) FROM events) - ?",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return Error("cannot prune the events");
  }
  SqliteStatement prune(raw);
  sqlite3_bind_int64(prune.get(), 1,
                     absl::ToUnixMicros(absl::Now() - bounds_.max_age));
  sqlite3_bind_int64(prune.get(), 2, static_cast<int64_t>(bounds_.max_count));
  if (sqlite3_step(prune.get()) != SQLITE_DONE) {
    return Error("cannot prune the events");
  }
  return absl::OkStatus();
}

absl::Status SqliteEventStore::Save(const DriverEvent& e) {
  absl::MutexLock lock(&mu_);
  absl::Status status = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "INSERT OR REPLACE INTO events (seq, at_us, driver, "
                           "kind, from_state, to_state, reason, pid) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &raw, nullptr) != SQLITE_OK) {
      return Error("cannot save an event");
    }
    SqliteStatement insert(raw);
    sqlite3_bind_int64(insert.get(), 1, static_cast<int64_t>(e.sequence));
    sqlite3_bind_int64(insert.get(), 2, absl::ToUnixMicros(e.time));
    int i = 3;
    for (absl::string_view text :
         {absl::string_view(e.driver), absl::string_view(e.kind),
          DriverStateName(e.from), DriverStateName(e.to),
          absl::string_view(e.reason)}) {
      sqlite3_bind_text(insert.get(), i++, text.data(),
                        static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(insert.get(), 8, e.pid);
    if (sqlite3_step(insert.get()) != SQLITE_DONE) {
      return Error("cannot save an event");
    }
    return ++saves_ % kPruneEvery == 0 ? Prune() : absl::OkStatus();
  }();
  int64_t count = 0;
  if (!status.ok() && failures_.Allow(absl::Now(), &count)) {
    LogWarning("events",
               absl::StrCat(status.message(),
                            "; the event stays in memory until a restart"),
               {{"count", std::to_string(count)}});
  }
  return status;
}

absl::StatusOr<std::vector<DriverEvent>> SqliteEventStore::Recent(
    size_t limit) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT seq, at_us, driver, kind, from_state, "
                         "to_state, reason, pid FROM (SELECT * FROM events "
                         "WHERE at_us >= ? ORDER BY seq DESC LIMIT ?) "
                         "ORDER BY seq",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return Error("cannot read the events");
  }
  SqliteStatement select(raw);
  sqlite3_bind_int64(select.get(), 1,
                     absl::ToUnixMicros(absl::Now() - bounds_.max_age));
  sqlite3_bind_int64(select.get(), 2, static_cast<int64_t>(limit));
  std::vector<DriverEvent> events;
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    DriverEvent e;
    e.sequence = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0));
    e.time = absl::FromUnixMicros(sqlite3_column_int64(select.get(), 1));
    e.driver = Text(select.get(), 2);
    e.kind = Text(select.get(), 3);
    e.from = DriverStateNamed(Text(select.get(), 4));
    e.to = DriverStateNamed(Text(select.get(), 5));
    e.reason = Text(select.get(), 6);
    e.pid = static_cast<pid_t>(sqlite3_column_int64(select.get(), 7));
    events.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error("cannot read the events");
  return events;
}

}  // namespace pitstop
