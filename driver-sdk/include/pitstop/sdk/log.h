#ifndef PITSTOP_SDK_LOG_H_
#define PITSTOP_SDK_LOG_H_

// Driver logging. A driver's standard error is its log: the daemon captures
// it and tags every line with the driver's name and version.

#include <string>

#include "absl/strings/string_view.h"

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

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_LOG_H_
