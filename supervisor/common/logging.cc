#include "supervisor/common/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pitstop {
namespace {

std::atomic<LogLevel> min_level{LogLevel::kInfo};
std::atomic<LogFormat> format{LogFormat::kLogfmt};
std::atomic<bool> syslog_prefix{false};

// RFC 5424's severities, as journald reads them.
absl::string_view SyslogPrefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "<7>";
    case LogLevel::kInfo:
      return "<6>";
    case LogLevel::kWarning:
      return "<4>";
    case LogLevel::kError:
      return "<3>";
  }
  return "<6>";
}

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// `value` in double quotes with quotes, backslashes, newlines and tabs
// escaped, and other control characters as `control` and two hex digits
// (logfmt's \x0b, JSON's \u000b); the rest (UTF-8 included) as it is.
void AppendQuoted(std::string& out, absl::string_view value,
                  absl::string_view control) {
  out.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(
              &out, control,
              absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void AppendJsonString(std::string& out, absl::string_view value) {
  AppendQuoted(out, value, "\\u00");
}

// Quotes a value when logfmt needs it: empty, spaces, quotes, '=' or
// control characters.
void AppendValue(std::string& out, absl::string_view value) {
  bool needs_quotes = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) {
    out.append(value.data(), value.size());
    return;
  }
  AppendQuoted(out, value, "\\x");
}

}  // namespace

void SetMinLogLevel(LogLevel level) { min_level.store(level); }
void SetLogFormat(LogFormat f) { format.store(f); }
void SetSyslogPrefix(bool prefix) { syslog_prefix.store(prefix); }

bool StreamIsJournal(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  struct stat st = {};
  if (::fstat(fd, &st) != 0) return false;
  return absl::StrCat(st.st_dev, ":", st.st_ino) == journal_stream;
}

std::string FormatLogLine(LogLevel level, absl::string_view source,
                          absl::string_view message,
                          absl::Span<const LogField> fields) {
  std::string line;
  if (syslog_prefix.load(std::memory_order_relaxed)) {
    absl::StrAppend(&line, SyslogPrefix(level));
  }
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                            absl::UTCTimeZone());
  if (format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"time\":\"", time, "\",\"level\":\"",
                    LevelName(level), "\",\"source\":");
    AppendJsonString(line, source);
    for (const auto& [key, value] : fields) {
      line.push_back(',');
      AppendJsonString(line, key);
      line.push_back(':');
      AppendJsonString(line, value);
    }
    line.append(",\"msg\":");
    AppendJsonString(line, message);
    line.append("}\n");
    return line;
  }
  line.append(time);
  absl::StrAppend(&line, " level=", LevelName(level), " source=");
  AppendValue(line, source);
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, " ", key, "=");
    AppendValue(line, value);
  }
  line.append(" msg=");
  AppendValue(line, message);
  line.push_back('\n');
  return line;
}

void Log(LogLevel level, absl::string_view source, absl::string_view message,
         absl::Span<const LogField> fields) {
  if (level < min_level.load(std::memory_order_relaxed)) return;
  std::string line = FormatLogLine(level, source, message, fields);
  // One write keeps concurrent lines whole; a failed write has nowhere to go.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace pitstop
