#ifndef PITSTOP_SUPERVISOR_STORE_SQLITE_EVENT_STORE_H_
#define PITSTOP_SUPERVISOR_STORE_SQLITE_EVENT_STORE_H_

// The EventStore in pitstopd.db's `events` table, bounded by count and
// age: the oldest events past either bound go at open and every 64 saves.
// Its own connection, WAL with normal synchronisation: an event is
// history, and a power loss may cost the last few (the audit trail and the
// desired state are fully synchronised). Thread-safe (one connection
// behind a mutex); a failed save is logged at most once a minute.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/log_limiter.h"
#include "supervisor/core/event_store.h"

struct sqlite3;

namespace pitstop {

struct EventBounds {
  size_t max_count = 10000;
  absl::Duration max_age = absl::Hours(24 * 30);
};

class SqliteEventStore final : public EventStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteEventStore>> Open(
      const std::string& path, const EventBounds& bounds);
  ~SqliteEventStore() override;

  absl::Status Save(const DriverEvent& event) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<DriverEvent>> Recent(size_t limit) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SqliteEventStore(std::string path, sqlite3* db, const EventBounds& bounds)
      : path_(std::move(path)), bounds_(bounds), db_(db) {}
  absl::Status Prune() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const EventBounds bounds_;
  absl::Mutex mu_;
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
  size_t saves_ ABSL_GUARDED_BY(mu_) = 0;
  LogLimiter failures_ ABSL_GUARDED_BY(mu_){absl::Minutes(1)};
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_STORE_SQLITE_EVENT_STORE_H_
