#ifndef PITSTOP_SUPERVISOR_RPC_RETRY_DECISION_H_
#define PITSTOP_SUPERVISOR_RPC_RETRY_DECISION_H_

// Whether a routed call whose attempt ended without an answer is sent again
// (to the instance that replaces the one it was sent to) or fails, and with
// which status. A pure function, so that the policy reads as a table.
//
// A request that never reached a process (refused before its headers left,
// REFUSED_STREAM, or beyond a GOAWAY's last stream) is safe to send again,
// at most twice. One whose connection broke while the driver had it is sent
// once more only when it carries an operation id, which drivers must apply
// at most once.

#include <cstdint>

#include "absl/status/status.h"

namespace pitstop {

// How an attempt ended without an answer.
enum class AttemptEnd {
  // The connection was refused, or broke before the request's headers left.
  kRefusedBeforeHeaders,
  // The driver reset the stream with REFUSED_STREAM: it did not process it.
  kRefusedStream,
  // The driver's GOAWAY closed the stream as not processed.
  kGoaway,
  // The driver reset the stream with another code (or ended it without
  // trailers).
  kReset,
  // The connection broke while the driver had the request.
  kConnectionBroken,
};

struct RetryInput {
  AttemptEnd end = AttemptEnd::kReset;
  // The stream's HTTP/2 error code, for kReset.
  uint32_t http2_error = 0;
  // Attempts so far that ended refused (the first three ends above), this
  // one not counted.
  int refused_retries = 0;
  // Whether an earlier attempt's connection broke and the call was resent.
  bool resent_after_break = false;
  bool has_operation_id = false;
};

struct RetryDecision {
  bool retry = false;
  // When not retried: the call's status code.
  absl::StatusCode code = absl::StatusCode::kOk;
};

RetryDecision DecideRetry(const RetryInput& input);

// Whether `end` means the request never reached a process.
inline bool NeverReachedDriver(AttemptEnd end) {
  return end == AttemptEnd::kRefusedBeforeHeaders ||
         end == AttemptEnd::kRefusedStream || end == AttemptEnd::kGoaway;
}

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_RETRY_DECISION_H_
