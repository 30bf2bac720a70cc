#ifndef PITSTOP_SUPERVISOR_CORE_AUDIT_TRAIL_H_
#define PITSTOP_SUPERVISOR_CORE_AUDIT_TRAIL_H_

// The audit trail (docs/security.md, "Audit trail"): one record per admin
// action that changes something — who, what, with which arguments (secrets
// removed), and how it ended — each chained to the one before by a SHA-256
// hash, so that an edited or deleted record is found. store/ implements it
// in SQLite; the router's interceptor appends, the admin service reads.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pitstop {

struct AuditRecord {
  int64_t seq = 0;  // 1, 2, 3, ...
  absl::Time at;
  std::string actor;   // "uid=0 gid=0 pid=4242", "address=10.0.0.7:40122"
  std::string action;  // the method: "StopDriver"
  std::string args;    // the request as JSON, secrets and bytes removed
  int code = 0;        // the gRPC status code it ended with
  std::string message;
  std::string prev_hash;  // hex; "" for the first record
  std::string hash;       // hex
};

struct AuditVerdict {
  bool intact = true;
  int64_t records = 0;
  int64_t first_bad_seq = 0;  // when !intact
  std::string why;            // when !intact
  std::string last_hash;      // of the last record
};

class AuditTrail {
 public:
  virtual ~AuditTrail() = default;
  // Appends a record (seq, time and hashes filled in) and returns it.
  virtual absl::StatusOr<AuditRecord> Append(AuditRecord record) = 0;
  // Records with seq > after, oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<AuditRecord>> List(int64_t after,
                                                        size_t limit) = 0;
  // Walks the chain from the first record.
  virtual absl::StatusOr<AuditVerdict> Verify() = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_AUDIT_TRAIL_H_
