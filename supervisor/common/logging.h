#ifndef PITSTOP_SUPERVISOR_COMMON_LOGGING_H_
#define PITSTOP_SUPERVISOR_COMMON_LOGGING_H_

// Structured log lines on standard error, one event a line, logfmt style:
//
//   2026-11-25T08:40:00.123Z level=info source=supervisor driver=flashpool
//   msg="driver is ready"
//
// Thread-safe: a line is written with one write(2) call.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace pitstop {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<absl::string_view, absl::string_view>;

// Lines below this level are dropped. Default kInfo.
void SetMinLogLevel(LogLevel level);

void Log(LogLevel level, absl::string_view source, absl::string_view message,
         std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view source, absl::string_view message,
                    std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, source, message, fields);
}
inline void LogWarning(absl::string_view source, absl::string_view message,
                       std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, source, message, fields);
}
inline void LogError(absl::string_view source, absl::string_view message,
                     std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, source, message, fields);
}

// Reads a line a driver wrote in the same style ("[timestamp] level=warning
// msg=..." with the message quoted or bare), so that the daemon can re-log
// it at the driver's level with its own fields. Returns false, leaving the
// outputs untouched, for any other line.
bool ParseLogLine(absl::string_view line, LogLevel* level,
                  std::string* message);

// Formats one log line without writing it (exposed for tests).
std::string FormatLogLine(LogLevel level, absl::string_view source,
                          absl::string_view message,
                          std::initializer_list<LogField> fields);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_LOGGING_H_
