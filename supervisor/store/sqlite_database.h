#ifndef PITSTOP_SUPERVISOR_STORE_SQLITE_DATABASE_H_
#define PITSTOP_SUPERVISOR_STORE_SQLITE_DATABASE_H_

// What the daemon's SQLite stores share: opening pitstopd.db with the same
// settings, and prepared statements that finalize themselves.

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace pitstop {

struct SqliteStatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteStatement = std::unique_ptr<sqlite3_stmt, SqliteStatementDeleter>;

// Opens (creating if needed) the database at `path` and runs `schema` (its
// CREATE TABLE IF NOT EXISTS statements). Errors name the file and say to
// move it aside; the caller owns the handle (sqlite3_close).
absl::StatusOr<sqlite3*> OpenSqliteDatabase(const std::string& path,
                                            const char* schema);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_STORE_SQLITE_DATABASE_H_
