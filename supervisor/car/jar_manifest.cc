#include "supervisor/car/jar_manifest.h"

#include "absl/strings/str_cat.h"

namespace pitstop {

std::string JarHeader(absl::string_view key, absl::string_view value) {
  const std::string line = absl::StrCat(key, ": ", value);
  std::string out = line.substr(0, 72);
  out += "\r\n";
  for (size_t pos = 72; pos < line.size(); pos += 71) {
    absl::StrAppend(&out, " ", line.substr(pos, 71), "\r\n");
  }
  return out;
}

absl::StatusOr<JarManifest> ParseJarManifest(absl::string_view text,
                                             absl::string_view source) {
  JarManifest out;
  bool in_main = true;
  JarSection current;
  std::string last_key;
  size_t line_no = 0;
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", line_no, ": ", why));
  };
  const auto finish_section = [&]() -> absl::Status {
    if (in_main) {
      out.main = std::move(current);
      in_main = false;
    } else if (!current.attributes.empty()) {
      auto name = current.attributes.find("Name");
      if (name == current.attributes.end()) {
        return bad("a section without a Name attribute");
      }
      const std::string n = name->second;
      if (!out.entries.emplace(n, std::move(current)).second) {
        return bad(absl::StrCat("entry '", n, "' is listed twice"));
      }
    }
    current = JarSection();
    last_key.clear();
    return absl::OkStatus();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const size_t next = end == absl::string_view::npos ? text.size() : end + 1;
    absl::string_view raw = text.substr(pos, next - pos);
    absl::string_view line = raw;
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++line_no;
    pos = next;
    if (line.empty()) {
      current.raw.append(raw.data(), raw.size());
      if (absl::Status s = finish_section(); !s.ok()) return s;
      continue;
    }
    current.raw.append(raw.data(), raw.size());
    if (line[0] == ' ') {
      if (last_key.empty()) return bad("a continuation line without a header");
      current.attributes[last_key].append(line.substr(1).data(),
                                          line.size() - 1);
      continue;
    }
    const size_t colon = line.find(": ");
    if (colon == absl::string_view::npos || colon == 0) {
      return bad("expected 'Key: value'");
    }
    last_key = std::string(line.substr(0, colon));
    current.attributes[last_key] = std::string(line.substr(colon + 2));
  }
  if (!current.attributes.empty() || in_main) {
    if (absl::Status s = finish_section(); !s.ok()) return s;
  }
  return out;
}

}  // namespace pitstop
