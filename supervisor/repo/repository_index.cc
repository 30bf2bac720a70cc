#include "supervisor/repo/repository_index.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "supervisor/car/driver_manifest.h"

namespace pitstop {
namespace {

constexpr char kHeader[] = "pitstop-repository-index\t1";

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool EntryLess(const IndexEntry& a, const IndexEntry& b) {
  if (a.name != b.name) return a.name < b.name;
  return a.version < b.version;
}

}  // namespace

std::string SerializeIndex(const RepositoryIndex& index) {
  std::string out = absl::StrCat(kHeader, "\n");
  absl::StrAppend(&out, "version\t", index.version, "\n");
  absl::StrAppend(&out, "generated\t", TimeText(index.generated), "\n");
  absl::StrAppend(&out, "expires\t", TimeText(index.expires), "\n");
  std::vector<IndexEntry> entries = index.entries;
  std::sort(entries.begin(), entries.end(), EntryLess);
  for (const IndexEntry& e : entries) {
    absl::StrAppend(&out, "car\t", e.name, "\t", e.version.ToString(), "\t",
                    e.category, "\t", e.length, "\t", e.sha256, "\t", e.path,
                    "\t", e.signer, "\n");
  }
  return out;
}

absl::Status CheckIndexPath(absl::string_view path) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path '", path, "' ", why));
  };
  if (path.empty() || path.size() > 1024) return bad("is empty or too long");
  if (path[0] == '/') return bad("must be relative to the repository");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return bad("must not hold empty, '.' or '..' components");
    }
    if (part[0] == '.') return bad("must not name hidden files");
    for (char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
          c != '_' && c != '-' && c != '+') {
        return bad("may hold only letters, digits, '.', '_', '-', '+', '/'");
      }
    }
  }
  if (!absl::EndsWith(path, ".car")) return bad("must name a *.car file");
  return absl::OkStatus();
}

absl::StatusOr<RepositoryIndex> ParseIndex(absl::string_view text,
                                           absl::string_view source) {
  int line_no = 0;
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, line_no > 0 ? absl::StrCat(":", line_no) : "", ": ", why,
        " (not a valid repository index; rebuild it with `pitstop repo "
        "build`)"));
  };
  if (text.empty() || text.back() != '\n') {
    line_no = 1;
    return bad("the index must be non-empty and end with a newline");
  }
  text.remove_suffix(1);
  RepositoryIndex index;
  std::set<std::string> seen_fields;
  std::set<std::pair<std::string, std::string>> seen_entries;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) {
        return bad(absl::StrCat("the first line must be '",
                                absl::StrReplaceAll(kHeader, {{"\t", "<TAB>"}}),
                                "'"));
      }
      continue;
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f[0] == "car") {
      if (f.size() != 8) {
        return bad(
            "a car line has 8 tab-separated fields: car, name, "
            "version, category, length, sha256, path, signer");
      }
      IndexEntry e;
      e.name = std::string(f[1]);
      if (!IsValidDriverName(e.name)) {
        return bad(absl::StrCat("bad driver name '", f[1], "'"));
      }
      auto version = SemVer::Parse(f[2]);
      if (!version.ok()) return bad(version.status().message());
      e.version = *version;
      if (f[3] != "network" && f[3] != "storage" && f[3] != "hypervisor") {
        return bad(
            absl::StrCat("category must be network, storage or "
                         "hypervisor (got '",
                         f[3], "')"));
      }
      e.category = std::string(f[3]);
      if (!absl::SimpleAtoi(f[4], &e.length) || e.length == 0 ||
          e.length > kMaxIndexedCarBytes || absl::StrCat(e.length) != f[4]) {
        return bad(absl::StrCat("bad length '", f[4], "'"));
      }
      if (f[5].size() != 64 || !IsLowerHex(f[5])) {
        return bad(absl::StrCat("bad SHA-256 '", f[5],
                                "' (64 lower-case hex digits)"));
      }
      e.sha256 = std::string(f[5]);
      if (absl::Status s = CheckIndexPath(f[6]); !s.ok()) {
        return bad(s.message());
      }
      e.path = std::string(f[6]);
      e.signer = std::string(f[7]);
      if (!seen_entries.insert({e.name, e.version.ToString()}).second) {
        return bad(absl::StrCat(e.name, " ", e.version.ToString(),
                                " is listed twice"));
      }
      index.entries.push_back(std::move(e));
      continue;
    }
    if (f.size() != 2) {
      return bad(absl::StrCat("expected 'car' or FIELD<TAB>VALUE, got '",
                              line.substr(0, 60), "'"));
    }
    if (!seen_fields.insert(std::string(f[0])).second) {
      return bad(absl::StrCat("'", f[0], "' appears twice"));
    }
    if (f[0] == "version") {
      if (!absl::SimpleAtoi(f[1], &index.version) || index.version == 0 ||
          absl::StrCat(index.version) != f[1]) {
        return bad(absl::StrCat("version must be a positive integer (got '",
                                f[1], "')"));
      }
    } else if (f[0] == "generated" || f[0] == "expires") {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", f[1], absl::UTCTimeZone(), &t,
                           &err)) {
        return bad(absl::StrCat(f[0],
                                " must be a UTC time like "
                                "2026-01-31T12:00:00Z (got '",
                                f[1], "')"));
      }
      (f[0] == "generated" ? index.generated : index.expires) = t;
    } else {
      return bad(absl::StrCat("unknown field '", f[0], "'"));
    }
  }
  line_no = 0;
  for (const char* field : {"version", "generated", "expires"}) {
    if (seen_fields.count(field) == 0) {
      return bad(absl::StrCat("the field '", field, "' is missing"));
    }
  }
  if (index.expires <= index.generated) {
    return bad("expires must be later than generated");
  }
  std::sort(index.entries.begin(), index.entries.end(), EntryLess);
  return index;
}

absl::Status CheckIndexFreshness(const RepositoryIndex& index,
                                 const std::string& index_sha256,
                                 const std::optional<SeenIndex>& seen,
                                 absl::Time now, absl::string_view source) {
  if (index.expires <= now) {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": the index (version ", index.version, ") expired at ",
        TimeText(index.expires),
        "; refusing it (a stale or frozen mirror?). Its publisher must "
        "re-sign it with `pitstop repo build`, or the mirror be refreshed "
        "with `pitstop repo mirror`"));
  }
  if (seen && index.version < seen->version) {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": the index has version ", index.version,
        ", older than version ", seen->version,
        " already seen from this repository; refusing it (a rollback or a "
        "stale mirror). Point the repository at an up-to-date copy"));
  }
  if (seen && index.version == seen->version && index_sha256 != seen->sha256) {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": the index has version ", index.version,
        " already seen from this repository, but different content; "
        "refusing it. A publisher must raise the version with every change "
        "(`pitstop repo build` does)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParseValidity(absl::string_view text) {
  absl::Duration d;
  int64_t days = 0;
  if (absl::EndsWith(text, "d") &&
      absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) && days > 0) {
    d = absl::Hours(24 * days);
  } else if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad validity '", text, "': use e.g. 30d, 12h or 90m"));
  }
  return d;
}

}  // namespace pitstop
