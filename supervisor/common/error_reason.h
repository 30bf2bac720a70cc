#ifndef PITSTOP_SUPERVISOR_COMMON_ERROR_REASON_H_
#define PITSTOP_SUPERVISOR_COMMON_ERROR_REASON_H_

// A stable, machine-readable reason on an absl::Status (a payload), e.g.
// "DRIVER_FAILED": the router sends it to callers as google.rpc.ErrorInfo
// (docs/protocol.md, "Results and errors"), so programs match on it rather
// than on the message.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace pitstop {

inline constexpr char kReasonPayload[] = "pitstop.dev/reason";

inline absl::Status WithReason(absl::Status status, absl::string_view reason) {
  status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

// The reason set with WithReason, or "".
inline std::string ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  return payload ? std::string(*payload) : "";
}

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_ERROR_REASON_H_
