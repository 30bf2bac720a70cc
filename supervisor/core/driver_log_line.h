#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_LOG_LINE_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_LOG_LINE_H_

// One line of a driver's output, read as the daemon re-logs it
// (docs/vendor-guide.md, "Logging"):
//
//   logfmt:  [TIMESTAMP] level=warning [key=value...] msg="..." [key=value...]
//            (a bare msg=... is the rest of the line)
//   JSON:    {"level":"warning","msg":"...","key":"value",...}
//            (hclog's "@level", "@message" and "@timestamp" too)
//   other:   the whole line, at info
//
// The driver's own fields are kept (at most kMaxFields, each key at most
// kMaxKey characters of [A-Za-z0-9_.-], each value at most kMaxValue
// bytes; what is over is dropped and counted in the field "dropped_fields").
// A field named as one of the daemon's own (time, level, source, driver,
// instance, stream, msg) gets the prefix "driver_". Pure.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "supervisor/common/logging.h"

namespace pitstop {

struct DriverLogLine {
  LogLevel level = LogLevel::kInfo;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

inline constexpr size_t kMaxDriverLogFields = 16;
inline constexpr size_t kMaxDriverLogKey = 64;
inline constexpr size_t kMaxDriverLogValue = 1024;

DriverLogLine ParseDriverLogLine(absl::string_view line);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_LOG_LINE_H_
