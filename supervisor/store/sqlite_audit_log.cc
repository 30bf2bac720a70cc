#include "supervisor/store/sqlite_audit_log.h"

#include <openssl/sha.h>
#include <sqlite3.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/store/sqlite_database.h"

namespace pitstop {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS audit (
  seq        INTEGER PRIMARY KEY,
  at_us      INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  args       TEXT NOT NULL,
  code       INTEGER NOT NULL,
  message    TEXT NOT NULL,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
)sql";

std::string Text(sqlite3_stmt* s, int column) {
  const auto* t = sqlite3_column_text(s, column);
  return t ? reinterpret_cast<const char*>(t) : "";
}

void Field(std::string& out, absl::string_view value) {
  absl::StrAppend(&out, value.size(), ":", value, ";");
}

}  // namespace

std::string AuditHash(const AuditRecord& r) {
  std::string canonical;
  Field(canonical, absl::StrCat(r.seq));
  Field(canonical, absl::StrCat(absl::ToUnixMicros(r.at)));
  Field(canonical, r.actor);
  Field(canonical, r.action);
  Field(canonical, r.args);
  Field(canonical, absl::StrCat(r.code));
  Field(canonical, r.message);
  Field(canonical, r.prev_hash);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()),
         canonical.size(), md);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

absl::StatusOr<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::Open(
    const std::string& path) {
  ASSIGN_OR_RETURN(sqlite3 * db, OpenSqliteDatabase(path, kSchema));
  return std::unique_ptr<SqliteAuditLog>(new SqliteAuditLog(path, db));
}

SqliteAuditLog::~SqliteAuditLog() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status SqliteAuditLog::Error(const char* what) {
  return absl::InternalError(
      absl::StrCat(what, " in ", path_, ": ", sqlite3_errmsg(db_)));
}

absl::StatusOr<AuditRecord> SqliteAuditLog::Append(AuditRecord record) {
  absl::MutexLock lock(&mu_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return Error("cannot begin an audit record");
  }
  auto rollback = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  };
  sqlite3_stmt* raw = nullptr;
  record.seq = 1;
  record.prev_hash.clear();
  if (sqlite3_prepare_v2(db_,
                         "SELECT seq, hash FROM audit ORDER BY seq DESC "
                         "LIMIT 1",
                         -1, &raw, nullptr) != SQLITE_OK) {
    absl::Status s = Error("cannot read the audit trail");
    rollback();
    return s;
  }
  {
    SqliteStatement last(raw);
    if (sqlite3_step(last.get()) == SQLITE_ROW) {
      record.seq = sqlite3_column_int64(last.get(), 0) + 1;
      record.prev_hash = Text(last.get(), 1);
    }
  }
  record.at = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  record.hash = AuditHash(record);
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO audit (seq, at_us, actor, action, args, "
                         "code, message, prev_hash, hash) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, &raw, nullptr) != SQLITE_OK) {
    absl::Status s = Error("cannot write an audit record");
    rollback();
    return s;
  }
  SqliteStatement insert(raw);
  sqlite3_bind_int64(insert.get(), 1, record.seq);
  sqlite3_bind_int64(insert.get(), 2, absl::ToUnixMicros(record.at));
  int i = 3;
  for (const std::string* text :
       {&record.actor, &record.action, &record.args}) {
    sqlite3_bind_text(insert.get(), i++, text->c_str(), -1, SQLITE_TRANSIENT);
  }
  sqlite3_bind_int(insert.get(), 6, record.code);
  sqlite3_bind_text(insert.get(), 7, record.message.c_str(), -1,
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(insert.get(), 8, record.prev_hash.c_str(), -1,
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(insert.get(), 9, record.hash.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(insert.get()) != SQLITE_DONE ||
      sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    absl::Status s = Error("cannot write an audit record");
    rollback();
    return s;
  }
  return record;
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::Select(int64_t after,
                                                                size_t limit) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT seq, at_us, actor, action, args, code, "
                         "message, prev_hash, hash FROM audit WHERE seq > ? "
                         "ORDER BY seq LIMIT ?",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return Error("cannot read the audit trail");
  }
  SqliteStatement stmt(raw);
  sqlite3_bind_int64(stmt.get(), 1, after);
  sqlite3_bind_int64(stmt.get(), 2, static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    AuditRecord r;
    r.seq = sqlite3_column_int64(stmt.get(), 0);
    r.at = absl::FromUnixMicros(sqlite3_column_int64(stmt.get(), 1));
    r.actor = Text(stmt.get(), 2);
    r.action = Text(stmt.get(), 3);
    r.args = Text(stmt.get(), 4);
    r.code = sqlite3_column_int(stmt.get(), 5);
    r.message = Text(stmt.get(), 6);
    r.prev_hash = Text(stmt.get(), 7);
    r.hash = Text(stmt.get(), 8);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error("cannot read the audit trail");
  return out;
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::List(int64_t after,
                                                              size_t limit) {
  absl::MutexLock lock(&mu_);
  return Select(after, limit);
}

absl::StatusOr<AuditVerdict> SqliteAuditLog::Verify() {
  absl::MutexLock lock(&mu_);
  AuditVerdict v;
  int64_t after = 0;
  std::string prev;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<AuditRecord> page, Select(after, 1000));
    if (page.empty()) break;
    for (const AuditRecord& r : page) {
      std::string why;
      if (r.seq != after + 1) {
        why = absl::StrCat("records ", after + 1, " to ", r.seq - 1,
                           " are missing");
      } else if (r.prev_hash != prev) {
        why = "its previous hash is not the hash of the record before";
      } else if (AuditHash(r) != r.hash) {
        why = "its fields do not match its hash (edited)";
      }
      if (!why.empty()) {
        v.intact = false;
        v.first_bad_seq = r.seq;
        v.why = std::move(why);
        return v;
      }
      ++v.records;
      prev = r.hash;
      after = r.seq;
    }
  }
  v.last_hash = prev;
  return v;
}

}  // namespace pitstop
