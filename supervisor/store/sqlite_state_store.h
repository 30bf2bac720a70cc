#ifndef PITSTOP_SUPERVISOR_STORE_SQLITE_STATE_STORE_H_
#define PITSTOP_SUPERVISOR_STORE_SQLITE_STATE_STORE_H_

// DesiredStateStore in an SQLite database (<state-dir>/pitstopd.db): one row
// a driver, each save one transaction, the journal in WAL mode with full
// synchronisation, so a crash at any point leaves either the old or the new
// row. Thread-safe (one connection behind a mutex).

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/core/desired_state.h"

struct sqlite3;

namespace pitstop {

class SqliteStateStore final : public DesiredStateStore {
 public:
  // Opens or creates the database. Errors name the file.
  static absl::StatusOr<std::unique_ptr<SqliteStateStore>> Open(
      const std::string& path);
  ~SqliteStateStore() override;

  absl::StatusOr<std::map<std::string, DesiredDriverState>> Load() override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Save(const std::string& driver,
                    const DesiredDriverState& state) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SqliteStateStore(std::string path, sqlite3* db)
      : path_(std::move(path)), db_(db) {}
  absl::Status Error(const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveRow(const std::string& driver,
                       const DesiredDriverState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The `pins` table: one row per pinned resource.
  absl::Status LoadPins(std::map<std::string, DesiredDriverState>& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SavePins(const std::string& driver,
                        const DesiredDriverState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The `canaries` table (a canary before its cut-over: plan, step,
  // options) and `canary_named` (its named resources).
  absl::Status LoadCanaries(std::map<std::string, DesiredDriverState>& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveCanary(const std::string& driver,
                          const DesiredDriverState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_STORE_SQLITE_STATE_STORE_H_
