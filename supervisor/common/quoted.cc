#include "supervisor/common/quoted.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace pitstop {

std::string Quoted(absl::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  std::string shown = absl::CHexEscape(cut ? text.substr(0, max_bytes) : text);
  if (!cut) return absl::StrCat("'", shown, "'");
  return absl::StrCat("'", shown, "...' (", text.size(), " bytes)");
}

std::string Bounded(std::string message, size_t max_bytes) {
  static constexpr absl::string_view kCut = "... (message cut)";
  if (message.size() <= max_bytes) return message;
  message.resize(max_bytes > kCut.size() ? max_bytes - kCut.size() : 0);
  // Not in the middle of a UTF-8 sequence.
  while (!message.empty() &&
         (static_cast<unsigned char>(message.back()) & 0xC0) == 0x80) {
    message.pop_back();
  }
  if (!message.empty() &&
      (static_cast<unsigned char>(message.back()) & 0x80) != 0) {
    message.pop_back();
  }
  return absl::StrCat(message, kCut);
}

}  // namespace pitstop
