#ifndef PITSTOP_SDK_OPERATION_LOG_H_
#define PITSTOP_SDK_OPERATION_LOG_H_

// Idempotency by operation id. The daemon may retry a mutating call (after a
// timeout, a driver restart or a graceful upgrade) with the same
// CallContext.operation_id; a driver that remembers the response of every
// completed operation returns it again instead of applying the operation
// twice.
//
// An OperationLog is a value: keep it inside the driver's persisted state
// (e.g. a TypedStateFile) and change it in the same update as the state the
// operation changes, so that the effect and its remembered response are
// written together.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace pitstop::sdk {

// The remembered responses of the last `capacity` completed operations, by
// operation id; the oldest are forgotten first. Not thread-safe: guard it
// together with the state it belongs to.
class OperationLog {
 public:
  static constexpr size_t kDefaultCapacity = 4096;

  // A capacity of 0 counts as 1.
  explicit OperationLog(size_t capacity = kDefaultCapacity);

  // Runs a mutating operation at most once per operation id:
  //  - an empty `operation_id` always runs `apply`, remembering nothing;
  //  - an id remembered for the same `method` and `resource_id` replays the
  //    remembered response into `response` and sets *replayed (if given);
  //  - an id remembered for another method or resource is INVALID_ARGUMENT;
  //  - otherwise `response` is cleared, `apply` runs and, if it returns OK,
  //    the response it filled in is remembered.
  // Returns apply's error, or DATA_LOSS for a remembered response that no
  // longer parses as `response`'s type.
  absl::Status Run(absl::string_view operation_id, absl::string_view method,
                   absl::string_view resource_id,
                   google::protobuf::Message& response,
                   absl::FunctionRef<absl::Status()> apply,
                   bool* replayed = nullptr);

  // The lower-level pieces of Run, for drivers whose responses are not
  // protocol messages.
  struct Entry {
    std::string method;
    std::string resource_id;
    std::string response;
  };
  // The entry remembered for `operation_id`, or nullptr (always for an empty
  // id). Valid until the log next changes.
  const Entry* Find(absl::string_view operation_id) const;
  // Remembers (or replaces) an entry as the newest, forgetting the oldest
  // beyond capacity.
  void Remember(absl::string_view operation_id, Entry entry);

  size_t size() const { return entries_.size(); }

  // A text form for a state file (a records.h file of one line an entry,
  // oldest first), and back; embed it as one field of your own records.
  // Parse keeps the newest `capacity` entries; it returns DATA_LOSS naming
  // the line for malformed text.
  std::string Serialize() const;
  static absl::StatusOr<OperationLog> Parse(absl::string_view text,
                                            size_t capacity = kDefaultCapacity);

 private:
  struct Remembered {
    Entry entry;
    uint64_t sequence = 0;
  };

  size_t capacity_;
  std::map<std::string, Remembered, std::less<>> entries_;  // By operation id.
  std::map<uint64_t, std::string> by_age_;  // Sequence to operation id.
  uint64_t next_sequence_ = 1;
};

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_OPERATION_LOG_H_
