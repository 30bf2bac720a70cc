#ifndef PITSTOP_SUPERVISOR_CORE_EVENT_STORE_H_
#define PITSTOP_SUPERVISOR_CORE_EVENT_STORE_H_

// Where the EventLog keeps its events across restarts (SqliteEventStore in
// pitstopd.db), bounded by count and age. Events are history, not intent:
// a save that fails loses that event's record, never an action.

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "supervisor/core/event_log.h"

namespace pitstop {

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Keeps `event` (numbered and stamped), dropping the oldest past the
  // store's bounds.
  virtual absl::Status Save(const DriverEvent& event) = 0;
  // The newest `limit` events within the store's age bound, oldest first.
  virtual absl::StatusOr<std::vector<DriverEvent>> Recent(size_t limit) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_EVENT_STORE_H_
