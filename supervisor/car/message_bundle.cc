#include "supervisor/car/message_bundle.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pitstop {
namespace {

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'u': {
        uint32_t cp = 0;
        if (i + 4 < s.size() && absl::SimpleHexAtoi(s.substr(i + 1, 4), &cp)) {
          AppendUtf8(out, cp);
          i += 4;
        } else {
          out.push_back('u');
        }
        break;
      }
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

MessageBundle MessageBundle::Parse(absl::string_view text) {
  MessageBundle bundle;
  // Join continuation lines first: a line ending in an odd number of
  // backslashes continues on the next one, whose leading blanks are dropped.
  std::vector<std::string> logical;
  std::string pending;
  bool continuing = false;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    absl::string_view line =
        continuing ? absl::StripLeadingAsciiWhitespace(raw) : raw;
    size_t slashes = 0;
    while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') {
      ++slashes;
    }
    if (slashes % 2 == 1) {
      absl::StrAppend(&pending, line.substr(0, line.size() - 1));
      continuing = true;
      continue;
    }
    absl::StrAppend(&pending, line);
    logical.push_back(std::move(pending));
    pending.clear();
    continuing = false;
  }
  if (!pending.empty()) logical.push_back(std::move(pending));

  for (const std::string& full : logical) {
    absl::string_view line = absl::StripLeadingAsciiWhitespace(full);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    size_t sep = 0;
    while (sep < line.size() && line[sep] != '=' && line[sep] != ':' &&
           !absl::ascii_isspace(line[sep])) {
      if (line[sep] == '\\') ++sep;
      ++sep;
    }
    std::string key = Unescape(line.substr(0, std::min(sep, line.size())));
    absl::string_view rest =
        sep < line.size() ? line.substr(sep) : absl::string_view();
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!rest.empty() && (rest[0] == '=' || rest[0] == ':')) {
      rest = absl::StripLeadingAsciiWhitespace(rest.substr(1));
    }
    bundle.messages_[key] = Unescape(rest);
  }
  return bundle;
}

absl::StatusOr<MessageBundle> MessageBundle::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (access(path.c_str(), F_OK) != 0) return MessageBundle();
    return absl::PermissionDeniedError(absl::StrCat("cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str());
}

std::optional<std::string> MessageBundle::Find(absl::string_view key) const {
  auto it = messages_.find(key);
  if (it == messages_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<MessageCatalog> MessageCatalog::Load(
    const std::string& resources_dir) {
  MessageCatalog catalog;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(resources_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!absl::EndsWith(name, ".properties") ||
        !absl::StartsWith(name, "messages")) {
      continue;
    }
    absl::string_view stem(name);
    stem.remove_suffix(strlen(".properties"));
    stem.remove_prefix(strlen("messages"));
    if (!stem.empty() && stem[0] != '_') continue;
    auto bundle = MessageBundle::Load(entry.path().string());
    if (!bundle.ok()) return bundle.status();
    if (stem.empty()) {
      catalog.default_ = *std::move(bundle);
    } else {
      catalog.by_locale_[std::string(stem.substr(1))] = *std::move(bundle);
    }
  }
  return catalog;
}

std::string MessageCatalog::Lookup(absl::string_view key,
                                   absl::string_view locale) const {
  if (!locale.empty()) {
    auto it = by_locale_.find(locale);
    if (it != by_locale_.end()) {
      if (auto m = it->second.Find(key)) return *m;
    }
    const size_t sep = locale.find_first_of("_-");
    if (sep != absl::string_view::npos) {
      it = by_locale_.find(locale.substr(0, sep));
      if (it != by_locale_.end()) {
        if (auto m = it->second.Find(key)) return *m;
      }
    }
  }
  return default_.Lookup(key);
}

std::vector<std::string> MessageCatalog::locales() const {
  std::vector<std::string> out;
  for (const auto& [locale, bundle] : by_locale_) out.push_back(locale);
  return out;
}

std::string MessageBundle::Lookup(absl::string_view key) const {
  auto it = messages_.find(key);
  return it == messages_.end() ? std::string(key) : it->second;
}

}  // namespace pitstop
