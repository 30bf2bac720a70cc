#ifndef PITSTOP_SUPERVISOR_STORE_SQLITE_AUDIT_LOG_H_
#define PITSTOP_SUPERVISOR_STORE_SQLITE_AUDIT_LOG_H_

// The AuditTrail in pitstopd.db's `audit` table: appended in one transaction
// each (WAL, full synchronisation), each record's hash over its own fields
// and the previous record's hash. Thread-safe (one connection behind a
// mutex).

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/core/audit_trail.h"

struct sqlite3;

namespace pitstop {

// The hash of `record` (hex SHA-256): its sequence, time, actor, action,
// arguments, code, message and previous hash, each length-prefixed.
std::string AuditHash(const AuditRecord& record);

class SqliteAuditLog final : public AuditTrail {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteAuditLog>> Open(
      const std::string& path);
  ~SqliteAuditLog() override;

  absl::StatusOr<AuditRecord> Append(AuditRecord record) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<AuditRecord>> List(int64_t after,
                                                size_t limit) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<AuditVerdict> Verify() override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SqliteAuditLog(std::string path, sqlite3* db)
      : path_(std::move(path)), db_(db) {}
  absl::Status Error(const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<AuditRecord>> Select(int64_t after, size_t limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_STORE_SQLITE_AUDIT_LOG_H_
