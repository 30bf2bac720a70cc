#include "supervisor/core/driver_log_line.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

std::optional<LogLevel> LevelNamed(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "trace" || lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error" || lower == "fatal" || lower == "critical") {
    return LogLevel::kError;
  }
  return std::nullopt;
}

bool ValidKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxDriverLogKey) return false;
  for (char c : key) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool Reserved(absl::string_view key) {
  for (absl::string_view r :
       {"time", "level", "source", "driver", "instance", "stream", "msg"}) {
    if (key == r) return true;
  }
  return false;
}

// Collects the driver's fields within the bounds.
class Fields {
 public:
  explicit Fields(DriverLogLine& out) : out_(out) {}
  ~Fields() {
    if (dropped_ > 0) {
      out_.fields.emplace_back("dropped_fields", std::to_string(dropped_));
    }
  }
  void Add(absl::string_view key, std::string value) {
    if (!ValidKey(key) || out_.fields.size() >= kMaxDriverLogFields) {
      ++dropped_;
      return;
    }
    if (value.size() > kMaxDriverLogValue) value.resize(kMaxDriverLogValue);
    out_.fields.emplace_back(
        Reserved(key) ? absl::StrCat("driver_", key) : std::string(key),
        std::move(value));
  }

 private:
  DriverLogLine& out_;
  size_t dropped_ = 0;
};

// A structured line needs a level and a message; then its fields are
// kept, within bounds.
bool Complete(std::optional<LogLevel> level, std::optional<std::string> message,
              std::vector<std::pair<std::string, std::string>> pairs,
              DriverLogLine& out) {
  if (!level || !message) return false;
  out.level = *level;
  out.message = std::move(*message);
  Fields fields(out);
  for (auto& [k, v] : pairs) fields.Add(k, std::move(v));
  return true;
}

// A quoted string at `text[*at]` ('"'), unescaped; false when unterminated.
// JSON's \uXXXX is kept as written.
bool ReadQuoted(absl::string_view text, size_t* at, std::string* out) {
  for (size_t i = *at + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      *at = i + 1;
      return true;
    }
    if (c == '\\' && i + 1 < text.size()) {
      const char e = text[++i];
      switch (e) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u':
          out->append("\\u");
          break;
        default:
          out->push_back(e);
      }
      continue;
    }
    out->push_back(c);
  }
  return false;
}

// logfmt: key=value pairs; a leading token without '=' (a timestamp) is
// skipped; a bare msg= takes the rest of the line. Needs level= and msg=.
bool ParseLogfmt(absl::string_view line, DriverLogLine& out) {
  std::optional<LogLevel> level;
  std::optional<std::string> message;
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t i = 0;
  bool first = true;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    const size_t key_start = i;
    while (i < line.size() && line[i] != '=' && line[i] != ' ') ++i;
    if (i >= line.size() || line[i] == ' ') {
      if (!first) return false;  // only a leading timestamp may be bare
      first = false;
      continue;
    }
    first = false;
    const absl::string_view key = line.substr(key_start, i - key_start);
    ++i;  // '='
    std::string value;
    if (i < line.size() && line[i] == '"') {
      if (!ReadQuoted(line, &i, &value)) return false;
    } else if (key == "msg") {
      // A bare message is the rest of the line (quote it to write fields
      // after it).
      value = std::string(line.substr(i));
      i = line.size();
    } else {
      const size_t start = i;
      while (i < line.size() && line[i] != ' ') ++i;
      value = std::string(line.substr(start, i - start));
    }
    if (key == "level" && !level) {
      level = LevelNamed(value);
      if (!level) return false;
    } else if (key == "msg" && !message) {
      message = std::move(value);
    } else {
      pairs.emplace_back(std::string(key), std::move(value));
    }
  }
  return Complete(level, std::move(message), std::move(pairs), out);
}

// A JSON value at line[*at], as text: a string unescaped, anything else
// (number, true, null, an object or array) as written. False when it does
// not end.
bool ReadJsonValue(absl::string_view line, size_t* at, std::string* out) {
  if (line[*at] == '"') return ReadQuoted(line, at, out);
  const size_t start = *at;
  int depth = 0;
  for (size_t i = start; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      std::string skipped;
      if (!ReadQuoted(line, &i, &skipped)) return false;
      --i;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (depth == 0) {
        *out = std::string(
            absl::StripAsciiWhitespace(line.substr(start, i - start)));
        *at = i;
        return true;
      }
      --depth;
    }
    if (c == ',' && depth == 0) {
      *out = std::string(
          absl::StripAsciiWhitespace(line.substr(start, i - start)));
      *at = i;
      return true;
    }
  }
  return false;
}

bool ParseJson(absl::string_view line, DriverLogLine& out) {
  line = absl::StripAsciiWhitespace(line);
  if (line.size() < 2 || line.front() != '{' || line.back() != '}') {
    return false;
  }
  std::optional<LogLevel> level;
  std::optional<std::string> message;
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t i = 1;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
    if (i >= line.size()) return false;
    if (line[i] == '}') break;
    if (line[i] != '"') return false;
    std::string key;
    if (!ReadQuoted(line, &i, &key)) return false;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size() || line[i] != ':') return false;
    ++i;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) return false;
    std::string value;
    if (!ReadJsonValue(line, &i, &value)) return false;
    if ((key == "level" || key == "@level") && !level) {
      level = LevelNamed(value);
      if (!level) return false;
    } else if ((key == "msg" || key == "@message" || key == "message") &&
               !message) {
      message = std::move(value);
    } else if (key != "@timestamp" && key != "time" && key != "ts") {
      pairs.emplace_back(key, std::move(value));
    }
  }
  return Complete(level, std::move(message), std::move(pairs), out);
}

}  // namespace

DriverLogLine ParseDriverLogLine(absl::string_view line) {
  DriverLogLine out;
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "{")) {
    if (ParseJson(line, out)) return out;
  } else if (ParseLogfmt(line, out)) {
    return out;
  }
  DriverLogLine plain;
  plain.message = std::string(line);
  return plain;
}

}  // namespace pitstop
