#include "supervisor/sandbox/output_lines.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace pitstop {
namespace {

int Index(OutputStream stream) {
  return stream == OutputStream::kStdout ? 0 : 1;
}

}  // namespace

void OutputLines::Append(OutputStream stream, absl::string_view data) {
  std::string& partial = partial_[Index(stream)];
  partial.append(data.data(), data.size());
  size_t start = 0;
  for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos;
       start = nl + 1) {
    Emit(stream, absl::string_view(partial).substr(start, nl - start));
  }
  partial.erase(0, start);
  while (partial.size() >= kMaxLine) {
    Emit(stream, absl::string_view(partial).substr(0, kMaxLine));
    partial.erase(0, kMaxLine);
  }
}

void OutputLines::Finish(OutputStream stream) {
  std::string& partial = partial_[Index(stream)];
  if (partial.empty()) return;
  Emit(stream, partial);
  partial.clear();
}

void OutputLines::ReportDropped() {
  if (dropped_ == 0) return;
  Note(absl::StrCat("pitstop: ", dropped_, " lines of output dropped"));
  dropped_ = 0;
}

void OutputLines::Note(absl::string_view line) {
  if (handler_) handler_(OutputStream::kStderr, line);
}

void OutputLines::Emit(OutputStream stream, absl::string_view line) {
  if (!handler_) return;
  if (!rate_limited_) {
    handler_(stream, line);
    return;
  }
  const absl::Time now = absl::Now();
  if (now - window_start_ >= absl::Seconds(1)) {
    if (dropped_ > 0) {
      handler_(OutputStream::kStderr,
               absl::StrCat("pitstop: ", dropped_,
                            " lines of output dropped (more than ",
                            kMaxLinesPerSecond, " lines or ",
                            kMaxBytesPerSecond / 1024, " KiB a second)"));
    }
    window_start_ = now;
    window_lines_ = 0;
    window_bytes_ = 0;
    dropped_ = 0;
  }
  window_bytes_ += line.size();
  if (++window_lines_ > kMaxLinesPerSecond ||
      window_bytes_ > kMaxBytesPerSecond) {
    ++dropped_;
    return;
  }
  handler_(stream, line);
}

}  // namespace pitstop
