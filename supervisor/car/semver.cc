#include "supervisor/car/semver.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pitstop {
namespace {

bool IsNumeric(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

bool ParseComponent(absl::string_view s, int* out) {
  if (!IsNumeric(s) || (s.size() > 1 && s[0] == '0')) return false;
  return absl::SimpleAtoi(s, out);
}

bool ValidIdentifiers(absl::string_view s) {
  if (s.empty()) return false;
  for (absl::string_view id : absl::StrSplit(s, '.')) {
    if (id.empty()) return false;
    for (char c : id) {
      if (!absl::ascii_isalnum(c) && c != '-') return false;
    }
  }
  return true;
}

int ComparePrerelease(absl::string_view a, absl::string_view b) {
  if (a == b) return 0;
  if (a.empty()) return 1;
  if (b.empty()) return -1;
  std::vector<absl::string_view> pa = absl::StrSplit(a, '.');
  std::vector<absl::string_view> pb = absl::StrSplit(b, '.');
  for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
    bool na = IsNumeric(pa[i]), nb = IsNumeric(pb[i]);
    if (na && nb) {
      uint64_t x = 0, y = 0;
      (void)absl::SimpleAtoi(pa[i], &x);
      (void)absl::SimpleAtoi(pb[i], &y);
      if (x != y) return x < y ? -1 : 1;
    } else if (na != nb) {
      return na ? -1 : 1;
    } else if (pa[i] != pb[i]) {
      return pa[i] < pb[i] ? -1 : 1;
    }
  }
  if (pa.size() == pb.size()) return 0;
  return pa.size() < pb.size() ? -1 : 1;
}

}  // namespace

absl::StatusOr<SemVer> SemVer::Parse(absl::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not a semantic version (expected MAJOR.MINOR.PATCH, "
                     "e.g. 1.4.2)"));
  };
  SemVer v;
  absl::string_view rest = text;
  if (size_t plus = rest.find('+'); plus != absl::string_view::npos) {
    v.build = std::string(rest.substr(plus + 1));
    if (!ValidIdentifiers(v.build)) return invalid();
    rest = rest.substr(0, plus);
  }
  if (size_t dash = rest.find('-'); dash != absl::string_view::npos) {
    v.prerelease = std::string(rest.substr(dash + 1));
    if (!ValidIdentifiers(v.prerelease)) return invalid();
    rest = rest.substr(0, dash);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '.');
  if (parts.size() != 3 || !ParseComponent(parts[0], &v.major) ||
      !ParseComponent(parts[1], &v.minor) ||
      !ParseComponent(parts[2], &v.patch)) {
    return invalid();
  }
  return v;
}

std::string SemVer::ToString() const {
  std::string s = absl::StrCat(major, ".", minor, ".", patch);
  if (!prerelease.empty()) absl::StrAppend(&s, "-", prerelease);
  if (!build.empty()) absl::StrAppend(&s, "+", build);
  return s;
}

int Compare(const SemVer& a, const SemVer& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  return ComparePrerelease(a.prerelease, b.prerelease);
}

absl::StatusOr<VersionRange> VersionRange::Parse(absl::string_view text) {
  VersionRange range;
  range.text_ = std::string(text);
  for (absl::string_view word :
       absl::StrSplit(text, absl::ByAnyChar(" \t,"), absl::SkipEmpty())) {
    Term term{Op::kEq, {}};
    if (absl::StartsWith(word, ">=")) {
      term.op = Op::kGe;
      word.remove_prefix(2);
    } else if (absl::StartsWith(word, "<=")) {
      term.op = Op::kLe;
      word.remove_prefix(2);
    } else if (absl::StartsWith(word, ">")) {
      term.op = Op::kGt;
      word.remove_prefix(1);
    } else if (absl::StartsWith(word, "<")) {
      term.op = Op::kLt;
      word.remove_prefix(1);
    } else if (absl::StartsWith(word, "=")) {
      word.remove_prefix(1);
    }
    auto version = SemVer::Parse(word);
    if (!version.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "version range '", text, "': ", version.status().message(),
          "; write comparisons such as \">=1.0.0 <2.0.0\""));
    }
    term.version = *std::move(version);
    range.terms_.push_back(std::move(term));
  }
  if (range.terms_.empty()) {
    return absl::InvalidArgumentError(
        "empty version range; write comparisons such as \">=1.0.0 <2.0.0\"");
  }
  return range;
}

bool VersionRange::Contains(const SemVer& v) const {
  for (const Term& t : terms_) {
    int c = Compare(v, t.version);
    bool ok = false;
    switch (t.op) {
      case Op::kEq:
        ok = c == 0;
        break;
      case Op::kLt:
        ok = c < 0;
        break;
      case Op::kLe:
        ok = c <= 0;
        break;
      case Op::kGt:
        ok = c > 0;
        break;
      case Op::kGe:
        ok = c >= 0;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace pitstop
