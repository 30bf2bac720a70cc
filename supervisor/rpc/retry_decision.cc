#include "supervisor/rpc/retry_decision.h"

#include <nghttp2/nghttp2.h>

namespace pitstop {

RetryDecision DecideRetry(const RetryInput& input) {
  constexpr int kMaxRefusedRetries = 2;
  if (NeverReachedDriver(input.end)) {
    if (input.refused_retries < kMaxRefusedRetries) return {true};
    return {false, absl::StatusCode::kUnavailable};
  }
  if (input.end == AttemptEnd::kReset) {
    return {false, input.http2_error == NGHTTP2_CANCEL
                       ? absl::StatusCode::kCancelled
                       : absl::StatusCode::kInternal};
  }
  if (input.has_operation_id && !input.resent_after_break) return {true};
  return {false, absl::StatusCode::kUnavailable};
}

}  // namespace pitstop
