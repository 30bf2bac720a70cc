#ifndef PITSTOP_SUPERVISOR_COMMON_LOGGING_H_
#define PITSTOP_SUPERVISOR_COMMON_LOGGING_H_

// Structured log lines on standard error, one event a line, logfmt style:
//
//   2026-11-25T08:40:00.123Z level=info source=supervisor driver=flashpool
//   msg="driver is ready"
//
// or, with LogFormat::kJson, the same fields as one JSON object a line:
//
//   {"time":"2026-11-25T08:40:00.123Z","level":"info","source":"supervisor",
//    "driver":"flashpool","msg":"driver is ready"}
//
// When standard error is journald's stream (systemd's JOURNAL_STREAM names
// it), each line starts with its syslog priority, "<6>" for info, which
// journald takes as the entry's PRIORITY and strips.
//
// Thread-safe: a line is written with one write(2) call.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace pitstop {

enum class LogLevel { kDebug, kInfo, kWarning, kError };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<absl::string_view, absl::string_view>;

// Lines below this level are dropped. Default kInfo.
void SetMinLogLevel(LogLevel level);
// Default kLogfmt.
void SetLogFormat(LogFormat format);
// Whether lines carry syslog priority prefixes. Default: whether
// `journal_stream` (the JOURNAL_STREAM variable, "DEVICE:INODE"; null when
// unset) names what `fd` is; call once at start.
bool StreamIsJournal(const char* journal_stream, int fd);
void SetSyslogPrefix(bool prefix);

void Log(LogLevel level, absl::string_view source, absl::string_view message,
         absl::Span<const LogField> fields = {});

inline void LogInfo(absl::string_view source, absl::string_view message,
                    absl::Span<const LogField> fields = {}) {
  Log(LogLevel::kInfo, source, message, fields);
}
inline void LogWarning(absl::string_view source, absl::string_view message,
                       absl::Span<const LogField> fields = {}) {
  Log(LogLevel::kWarning, source, message, fields);
}
inline void LogError(absl::string_view source, absl::string_view message,
                     absl::Span<const LogField> fields = {}) {
  Log(LogLevel::kError, source, message, fields);
}

// Formats one log line without writing it (exposed for tests), in the
// format and with the prefix set.
std::string FormatLogLine(LogLevel level, absl::string_view source,
                          absl::string_view message,
                          absl::Span<const LogField> fields);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_LOGGING_H_
