#include "pitstop/sdk/log.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pitstop::sdk {
namespace {

// Quotes the message so a line stays one line whatever the message holds.
std::string QuoteMessage(absl::string_view message) {
  std::string out = "\"";
  for (char c : message) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string FormatLogLineForTest(absl::string_view level,
                                 absl::string_view message) {
  return absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                       absl::UTCTimeZone()),
                      " level=", level.empty() ? "info" : level,
                      " msg=", QuoteMessage(message));
}

void Log(absl::string_view level, absl::string_view message) {
  std::string line = FormatLogLineForTest(level, message);
  line += '\n';
  // One write(2) so concurrent lines never interleave; retry short writes.
  absl::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

std::string DescribeCall(absl::string_view method,
                         const pitstop::driver::v1::CallContext& context,
                         const absl::Status& status, bool replayed) {
  std::string line(method);
  if (!context.resource().type().empty() || !context.resource().id().empty()) {
    absl::StrAppend(&line, " ", context.resource().type(), "=",
                    context.resource().id());
  }
  if (!context.operation_id().empty()) {
    absl::StrAppend(&line, " operation_id=", context.operation_id());
  }
  if (!context.caller().empty()) {
    absl::StrAppend(&line, " caller=", context.caller());
  }
  if (status.ok()) {
    absl::StrAppend(&line, replayed ? ": ok (replayed, already done)" : ": ok");
  } else {
    absl::StrAppend(&line, ": ", absl::StatusCodeToString(status.code()), ": ",
                    status.message());
  }
  return line;
}

void LogCall(absl::string_view method,
             const pitstop::driver::v1::CallContext& context,
             const absl::Status& status, bool replayed) {
  Log(status.ok() ? "info" : "warning",
      DescribeCall(method, context, status, replayed));
}

}  // namespace pitstop::sdk
