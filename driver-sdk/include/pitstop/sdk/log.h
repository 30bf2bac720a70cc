#ifndef PITSTOP_SDK_LOG_H_
#define PITSTOP_SDK_LOG_H_

// Driver logging. A driver's standard error is its log: the daemon captures
// it and tags every line with the driver's name and version.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pitstop/driver/v1/context.pb.h"

namespace pitstop::sdk {

// Writes one line on standard error, logfmt style:
//
//   2026-11-25T08:40:00.123Z level=info msg="volume vol-1 created"
//
// `level` is free text, conventionally "debug", "info", "warning" or "error".
// Newlines, quotes and control characters in `message` are escaped, so a
// message is always one line. Thread-safe: a line is written with one
// write(2) call. Never pass secrets (e.g. a password property) to it.
void Log(absl::string_view level, absl::string_view message);

// Formats the line Log() writes, without its trailing newline (for tests).
std::string FormatLogLineForTest(absl::string_view level,
                                 absl::string_view message);

// Logs the outcome of one call on one line, at level "info" if `status` is
// OK and "warning" otherwise:
//
//   CreateVolume volume=vol-1 operation_id=op-7 caller=mgmt-1: ok
//
// The resource, operation id and caller appear when set; the end is "ok",
// "ok (replayed, already done)" when `replayed`, or the error's code and
// message. Never logs the property bag.
void LogCall(absl::string_view method,
             const pitstop::driver::v1::CallContext& context,
             const absl::Status& status, bool replayed = false);

// The message LogCall() logs, without the level.
std::string DescribeCall(absl::string_view method,
                         const pitstop::driver::v1::CallContext& context,
                         const absl::Status& status, bool replayed);

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_LOG_H_
