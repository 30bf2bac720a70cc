#ifndef PITSTOP_SUPERVISOR_SANDBOX_OUTPUT_LINES_H_
#define PITSTOP_SUPERVISOR_SANDBOX_OUTPUT_LINES_H_

// The lines of one child's stdout and stderr: bytes are split at newlines
// (a longer line is delivered in kMaxLine pieces) and handed to the
// launcher's OutputHandler; a driver's output is rate-limited (lines and
// bytes a second), and what is dropped is counted and reported as a line of
// its own.
//
// Not thread-safe: only the launcher's monitor thread feeds a child's.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

class OutputLines {
 public:
  static constexpr size_t kMaxLine = 8192;
  static constexpr int kMaxLinesPerSecond = 2000;
  static constexpr size_t kMaxBytesPerSecond = 256 * 1024;

  OutputLines() = default;
  OutputLines(ProcessLauncher::OutputHandler handler, bool rate_limited)
      : handler_(std::move(handler)),
        rate_limited_(rate_limited),
        window_start_(absl::Now()) {}

  // Delivers every complete line in `data`, keeps the rest.
  void Append(OutputStream stream, absl::string_view data);
  // Delivers what is left of `stream` as a line.
  void Finish(OutputStream stream);
  // At the end: the count of lines the rate limit dropped, as a line.
  void ReportDropped();
  // A line from the launcher itself (not rate-limited).
  void Note(absl::string_view line);

 private:
  void Emit(OutputStream stream, absl::string_view line);

  ProcessLauncher::OutputHandler handler_;
  bool rate_limited_ = false;
  std::string partial_[2];  // stdout, stderr
  absl::Time window_start_;
  int window_lines_ = 0;
  size_t window_bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_OUTPUT_LINES_H_
