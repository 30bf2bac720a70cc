#include "supervisor/store/sqlite_database.h"

#include "absl/strings/str_cat.h"

namespace pitstop {

absl::StatusOr<sqlite3*> OpenSqliteDatabase(const std::string& path,
                                            const char* schema) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(
          path.c_str(), &db,
          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
          nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot open the state database ", path, ": ", why));
  }
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string why = error ? error : "unknown error";
    sqlite3_free(error);
    sqlite3_close(db);
    return absl::DataLossError(
        absl::StrCat("the state database ", path, " is unusable: ", why,
                     "; move it aside to start with every driver enabled and "
                     "no repository"));
  }
  return db;
}

}  // namespace pitstop
