#include "supervisor/rpc/retry_decision.h"

#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

using absl::StatusCode;
constexpr AttemptEnd kBeforeHeaders = AttemptEnd::kRefusedBeforeHeaders;
constexpr AttemptEnd kRefused = AttemptEnd::kRefusedStream;
constexpr AttemptEnd kGoaway = AttemptEnd::kGoaway;
constexpr AttemptEnd kReset = AttemptEnd::kReset;
constexpr AttemptEnd kBroken = AttemptEnd::kConnectionBroken;

struct Row {
  const char* what;
  RetryInput input;
  bool retry;
  StatusCode code;
};

TEST_CASE(
    "a routed call is resent only when it never reached a driver, or "
    "once after a broken connection when it carries an operation id",
    "[rpc]") {
  const Row rows[] = {
      {"refused before headers, first try",
       {kBeforeHeaders, 0, 0},
       true,
       StatusCode::kOk},
      {"refused before headers, second retry",
       {kBeforeHeaders, 0, 1},
       true,
       StatusCode::kOk},
      {"refused before headers, retries used up",
       {kBeforeHeaders, 0, 2},
       false,
       StatusCode::kUnavailable},
      {"REFUSED_STREAM, first try",
       {kRefused, NGHTTP2_REFUSED_STREAM, 0},
       true,
       StatusCode::kOk},
      {"REFUSED_STREAM, retries used up",
       {kRefused, NGHTTP2_REFUSED_STREAM, 2},
       false,
       StatusCode::kUnavailable},
      {"GOAWAY before the stream, first try",
       {kGoaway, 0, 0},
       true,
       StatusCode::kOk},
      {"GOAWAY before the stream, retries used up",
       {kGoaway, 0, 2},
       false,
       StatusCode::kUnavailable},
      {"refused with an operation id still counts retries",
       {kRefused, NGHTTP2_REFUSED_STREAM, 2, false, true},
       false,
       StatusCode::kUnavailable},
      {"reset with CANCEL",
       {kReset, NGHTTP2_CANCEL, 0},
       false,
       StatusCode::kCancelled},
      {"reset with INTERNAL_ERROR",
       {kReset, NGHTTP2_INTERNAL_ERROR, 0},
       false,
       StatusCode::kInternal},
      {"ended without trailers",
       {kReset, NGHTTP2_NO_ERROR, 0},
       false,
       StatusCode::kInternal},
      {"reset is never retried, even with an operation id",
       {kReset, NGHTTP2_INTERNAL_ERROR, 0, false, true},
       false,
       StatusCode::kInternal},
      {"broken mid-call without an operation id",
       {kBroken, 0, 0, false, false},
       false,
       StatusCode::kUnavailable},
      {"broken mid-call with an operation id",
       {kBroken, 0, 0, false, true},
       true,
       StatusCode::kOk},
      {"broken again after the resend",
       {kBroken, 0, 0, true, true},
       false,
       StatusCode::kUnavailable},
      {"broken with an operation id after refused retries",
       {kBroken, 0, 2, false, true},
       true,
       StatusCode::kOk},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const RetryDecision d = DecideRetry(row.input);
    CHECK(d.retry == row.retry);
    if (!row.retry) CHECK(d.code == row.code);
  }
}

}  // namespace
}  // namespace pitstop
