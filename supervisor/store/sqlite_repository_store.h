#ifndef PITSTOP_SUPERVISOR_STORE_SQLITE_REPOSITORY_STORE_H_
#define PITSTOP_SUPERVISOR_STORE_SQLITE_REPOSITORY_STORE_H_

// RepositoryStore in the daemon's SQLite database (<state-dir>/pitstopd.db,
// its own connection beside SqliteStateStore's): tables `repositories`
// (operator-added) and `repository_index_seen` (the newest accepted index
// of each repository), created when missing, so an existing database from
// an earlier version gains them on open. Thread-safe.

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/repo/repository_store.h"

struct sqlite3;

namespace pitstop {

class SqliteRepositoryStore final : public RepositoryStore {
 public:
  // Opens or creates the database. Errors name the file.
  static absl::StatusOr<std::unique_ptr<SqliteRepositoryStore>> Open(
      const std::string& path);
  ~SqliteRepositoryStore() override;

  absl::StatusOr<std::map<std::string, std::string>> LoadRepositories() override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SaveRepository(const std::string& name,
                              const std::string& url) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DeleteRepository(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::optional<SeenIndex>> LoadSeenIndex(
      const std::string& name) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status SaveSeenIndex(const std::string& name,
                             const SeenIndex& seen) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SqliteRepositoryStore(std::string path, sqlite3* db)
      : path_(std::move(path)), db_(db) {}
  absl::Status Error(const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs one statement with text parameters ?1, ?2, ...
  absl::Status Exec(const char* what, const char* sql,
                    const std::vector<std::string>& params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_STORE_SQLITE_REPOSITORY_STORE_H_
