#include "supervisor/store/sqlite_state_store.h"

#include <sqlite3.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/store/sqlite_database.h"

namespace pitstop {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS drivers (
  name          TEXT PRIMARY KEY,
  enabled       INTEGER NOT NULL,
  failed        INTEGER NOT NULL,
  failed_reason TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pins (
  driver   TEXT NOT NULL,
  resource TEXT NOT NULL,
  version  TEXT NOT NULL,
  PRIMARY KEY (driver, resource)
);
CREATE TABLE IF NOT EXISTS canaries (
  driver                  TEXT PRIMARY KEY,
  steps                   TEXT NOT NULL,
  step                    INTEGER NOT NULL,
  paused                  INTEGER NOT NULL,
  interval_ms             INTEGER NOT NULL,
  max_error_rate_increase REAL NOT NULL,
  max_p99_ratio           REAL NOT NULL,
  p99_floor_us            INTEGER NOT NULL,
  min_calls               INTEGER NOT NULL,
  drain_timeout_ms        INTEGER NOT NULL,
  probation_ms            INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS canary_named (
  driver   TEXT NOT NULL,
  resource TEXT NOT NULL,
  PRIMARY KEY (driver, resource)
);
)sql";

// Columns added after the first release, each with the ALTER TABLE that adds
// it to an older database.
constexpr std::pair<const char*, const char*> kAddedColumns[] = {
    {"active_version",
     "ALTER TABLE drivers ADD COLUMN active_version TEXT NOT NULL DEFAULT ''"},
    {"previous_version",
     "ALTER TABLE drivers ADD COLUMN previous_version TEXT NOT NULL DEFAULT "
     "''"},
    {"upgrading_to",
     "ALTER TABLE drivers ADD COLUMN upgrading_to TEXT NOT NULL DEFAULT ''"},
};

using Statement = SqliteStatement;

// Runs a prepared statement that returns no rows, and finalizes it.
bool StepDone(sqlite3_stmt* raw) {
  Statement stmt(raw);
  return sqlite3_step(stmt.get()) == SQLITE_DONE;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(
    const std::string& path) {
  ASSIGN_OR_RETURN(sqlite3 * db, OpenSqliteDatabase(path, kSchema));
  char* error = nullptr;
  for (const auto& [column, alter] : kAddedColumns) {
    // A prepared SELECT of the column fails exactly when it is missing.
    sqlite3_stmt* probe = nullptr;
    const std::string select = absl::StrCat("SELECT ", column, " FROM drivers");
    const bool present = sqlite3_prepare_v2(db, select.c_str(), -1, &probe,
                                            nullptr) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (present) continue;
    if (sqlite3_exec(db, alter, nullptr, nullptr, &error) != SQLITE_OK) {
      std::string why = error ? error : "unknown error";
      sqlite3_free(error);
      sqlite3_close(db);
      return absl::DataLossError(absl::StrCat(
          "cannot add column ", column, " to the state database ", path, ": ",
          why, "; move it aside to start with every driver enabled"));
    }
  }
  return std::unique_ptr<SqliteStateStore>(new SqliteStateStore(path, db));
}

SqliteStateStore::~SqliteStateStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status SqliteStateStore::Error(const char* what) {
  return absl::InternalError(
      absl::StrCat(what, " in ", path_, ": ", sqlite3_errmsg(db_)));
}

absl::StatusOr<std::map<std::string, DesiredDriverState>>
SqliteStateStore::Load() {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT name, enabled, failed, failed_reason, "
                         "active_version, previous_version, upgrading_to "
                         "FROM drivers",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return Error("reading the desired state");
  }
  Statement stmt(raw);
  std::map<std::string, DesiredDriverState> out;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    DesiredDriverState s;
    const auto* name = sqlite3_column_text(stmt.get(), 0);
    s.enabled = sqlite3_column_int(stmt.get(), 1) != 0;
    s.failed = sqlite3_column_int(stmt.get(), 2) != 0;
    const auto* reason = sqlite3_column_text(stmt.get(), 3);
    s.failed_reason = reason ? reinterpret_cast<const char*>(reason) : "";
    auto text = [&](int column) {
      const auto* t = sqlite3_column_text(stmt.get(), column);
      return std::string(t ? reinterpret_cast<const char*>(t) : "");
    };
    s.active_version = text(4);
    s.previous_version = text(5);
    s.upgrading_to = text(6);
    out[name ? reinterpret_cast<const char*>(name) : ""] = std::move(s);
  }
  if (rc != SQLITE_DONE) return Error("reading the desired state");
  RETURN_IF_ERROR(LoadPins(out));
  RETURN_IF_ERROR(LoadCanaries(out));
  return out;
}

absl::Status SqliteStateStore::LoadCanaries(
    std::map<std::string, DesiredDriverState>& out) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "SELECT driver, steps, step, paused, interval_ms, "
          "max_error_rate_increase, max_p99_ratio, p99_floor_us, min_calls, "
          "drain_timeout_ms, probation_ms FROM canaries",
          -1, &raw, nullptr) != SQLITE_OK) {
    return Error("reading the canaries");
  }
  Statement stmt(raw);
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    sqlite3_stmt* q = stmt.get();
    auto text = [q](int column) {
      const auto* t = sqlite3_column_text(q, column);
      return std::string(t ? reinterpret_cast<const char*>(t) : "");
    };
    auto millis = [q](int column) {
      return absl::Milliseconds(sqlite3_column_int64(q, column));
    };
    SavedCanary c;
    for (absl::string_view step : absl::StrSplit(text(1), ',')) {
      double percent = 0;
      if (!absl::SimpleAtod(step, &percent)) {
        return absl::DataLossError(absl::StrCat("the canary of ", text(0),
                                                " in ", path_, " has a step ",
                                                step, " that is not a number"));
      }
      c.plan.steps.push_back(percent);
    }
    c.step = static_cast<size_t>(sqlite3_column_int64(q, 2));
    c.paused = sqlite3_column_int(q, 3) != 0;
    c.plan.interval = millis(4);
    c.plan.gate.max_error_rate_increase = sqlite3_column_double(q, 5);
    c.plan.gate.max_p99_ratio = sqlite3_column_double(q, 6);
    c.plan.gate.p99_floor = absl::Microseconds(sqlite3_column_int64(q, 7));
    c.plan.gate.min_calls = static_cast<uint64_t>(sqlite3_column_int64(q, 8));
    c.drain_timeout = millis(9);
    c.probation = millis(10);
    out[text(0)].canary = std::move(c);
  }
  if (rc != SQLITE_DONE) return Error("reading the canaries");
  if (sqlite3_prepare_v2(db_, "SELECT driver, resource FROM canary_named", -1,
                         &raw, nullptr) != SQLITE_OK) {
    return Error("reading the canaries");
  }
  Statement named(raw);
  while ((rc = sqlite3_step(named.get())) == SQLITE_ROW) {
    const auto* driver = sqlite3_column_text(named.get(), 0);
    const auto* resource = sqlite3_column_text(named.get(), 1);
    auto it = out.find(driver ? reinterpret_cast<const char*>(driver) : "");
    if (it == out.end() || !it->second.canary || resource == nullptr) continue;
    it->second.canary->plan.named.insert(
        reinterpret_cast<const char*>(resource));
  }
  if (rc != SQLITE_DONE) return Error("reading the canaries");
  return absl::OkStatus();
}

absl::Status SqliteStateStore::SaveCanary(const std::string& driver,
                                          const DesiredDriverState& state) {
  for (const char* sql : {"DELETE FROM canaries WHERE driver = ?1",
                          "DELETE FROM canary_named WHERE driver = ?1"}) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) {
      return Error("saving the canary");
    }
    sqlite3_bind_text(raw, 1, driver.c_str(), -1, SQLITE_TRANSIENT);
    if (!StepDone(raw)) return Error("saving the canary");
  }
  if (!state.canary) return absl::OkStatus();
  const SavedCanary& c = *state.canary;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "INSERT INTO canaries (driver, steps, step, paused, interval_ms, "
          "max_error_rate_increase, max_p99_ratio, p99_floor_us, min_calls, "
          "drain_timeout_ms, probation_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
          "?7, ?8, ?9, ?10, ?11)",
          -1, &raw, nullptr) != SQLITE_OK) {
    return Error("saving the canary");
  }
  // Shortest text that reads back as the same double.
  const std::string steps =
      absl::StrJoin(c.plan.steps, ",", [](std::string* out, double percent) {
        absl::StrAppend(out, absl::StrFormat("%.17g", percent));
      });
  sqlite3_bind_text(raw, 1, driver.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, steps.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(raw, 3, static_cast<int64_t>(c.step));
  sqlite3_bind_int(raw, 4, c.paused ? 1 : 0);
  sqlite3_bind_int64(raw, 5, absl::ToInt64Milliseconds(c.plan.interval));
  sqlite3_bind_double(raw, 6, c.plan.gate.max_error_rate_increase);
  sqlite3_bind_double(raw, 7, c.plan.gate.max_p99_ratio);
  sqlite3_bind_int64(raw, 8, absl::ToInt64Microseconds(c.plan.gate.p99_floor));
  sqlite3_bind_int64(raw, 9, static_cast<int64_t>(c.plan.gate.min_calls));
  sqlite3_bind_int64(raw, 10, absl::ToInt64Milliseconds(c.drain_timeout));
  sqlite3_bind_int64(raw, 11, absl::ToInt64Milliseconds(c.probation));
  if (!StepDone(raw)) return Error("saving the canary");
  for (const std::string& resource : c.plan.named) {
    if (sqlite3_prepare_v2(
            db_, "INSERT INTO canary_named (driver, resource) VALUES (?1, ?2)",
            -1, &raw, nullptr) != SQLITE_OK) {
      return Error("saving the canary");
    }
    sqlite3_bind_text(raw, 1, driver.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 2, resource.c_str(), -1, SQLITE_TRANSIENT);
    if (!StepDone(raw)) return Error("saving the canary");
  }
  return absl::OkStatus();
}

absl::Status SqliteStateStore::LoadPins(
    std::map<std::string, DesiredDriverState>& out) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT driver, resource, version FROM pins", -1,
                         &raw, nullptr) != SQLITE_OK) {
    return Error("reading the pins");
  }
  Statement stmt(raw);
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    auto text = [&](int column) {
      const auto* t = sqlite3_column_text(stmt.get(), column);
      return std::string(t ? reinterpret_cast<const char*>(t) : "");
    };
    out[text(0)].pins[text(1)] = text(2);
  }
  if (rc != SQLITE_DONE) return Error("reading the pins");
  return absl::OkStatus();
}

absl::Status SqliteStateStore::SavePins(const std::string& driver,
                                        const DesiredDriverState& state) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM pins WHERE driver = ?1", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return Error("saving the pins");
  }
  sqlite3_bind_text(raw, 1, driver.c_str(), -1, SQLITE_TRANSIENT);
  if (!StepDone(raw)) return Error("saving the pins");
  for (const auto& [resource, version] : state.pins) {
    if (sqlite3_prepare_v2(
            db_,
            "INSERT INTO pins (driver, resource, version) VALUES (?1, ?2, ?3)",
            -1, &raw, nullptr) != SQLITE_OK) {
      return Error("saving the pins");
    }
    sqlite3_bind_text(raw, 1, driver.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 2, resource.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 3, version.c_str(), -1, SQLITE_TRANSIENT);
    if (!StepDone(raw)) return Error("saving the pins");
  }
  return absl::OkStatus();
}

absl::Status SqliteStateStore::Save(const std::string& driver,
                                    const DesiredDriverState& state) {
  absl::MutexLock lock(&mu_);
  // The driver's row, its pins and its canary together, or none.
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return Error("saving the desired state");
  }
  absl::Status s = SaveRow(driver, state);
  if (s.ok()) s = SavePins(driver, state);
  if (s.ok()) s = SaveCanary(driver, state);
  if (s.ok() &&
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    s = Error("saving the desired state");
  }
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

absl::Status SqliteStateStore::SaveRow(const std::string& driver,
                                       const DesiredDriverState& state) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(
          db_,
          "INSERT INTO drivers (name, enabled, failed, failed_reason, "
          "updated_at, active_version, previous_version, upgrading_to) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(name) DO "
          "UPDATE SET enabled = ?2, failed = ?3, failed_reason = ?4, "
          "updated_at = ?5, active_version = ?6, previous_version = ?7, "
          "upgrading_to = ?8",
          -1, &raw, nullptr) != SQLITE_OK) {
    return Error("saving the desired state");
  }
  Statement stmt(raw);
  const std::string now =
      absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
  sqlite3_bind_text(stmt.get(), 1, driver.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(stmt.get(), 2, state.enabled ? 1 : 0);
  sqlite3_bind_int(stmt.get(), 3, state.failed ? 1 : 0);
  sqlite3_bind_text(stmt.get(), 4, state.failed_reason.c_str(), -1,
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt.get(), 5, now.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt.get(), 6, state.active_version.c_str(), -1,
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt.get(), 7, state.previous_version.c_str(), -1,
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt.get(), 8, state.upgrading_to.c_str(), -1,
                    SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return Error("saving the desired state");
  }
  return absl::OkStatus();
}

}  // namespace pitstop
