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
#include "supervisor/common/status_macros.h"

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

namespace {

// The index parsers below return INVALID_ARGUMENT with the reason only;
// ParseIndex adds the source and the line.
absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(why);
}

absl::Status CheckHeader(absl::string_view line) {
  if (line == kHeader) return absl::OkStatus();
  return Invalid(absl::StrCat("the first line must be '",
                              absl::StrReplaceAll(kHeader, {{"\t", "<TAB>"}}),
                              "'"));
}

absl::Status CheckCategory(absl::string_view category) {
  if (category == "network" || category == "storage" ||
      category == "hypervisor") {
    return absl::OkStatus();
  }
  return Invalid(
      absl::StrCat("category must be network, storage or hypervisor (got '",
                   category, "')"));
}

// Canonical decimal only, so that serializing gives back the same bytes.
absl::StatusOr<uint64_t> ParseLength(absl::string_view text) {
  uint64_t length = 0;
  if (!absl::SimpleAtoi(text, &length) || length == 0 ||
      length > kMaxIndexedCarBytes || absl::StrCat(length) != text) {
    return Invalid(absl::StrCat("bad length '", text, "'"));
  }
  return length;
}

absl::Status CheckSha256(absl::string_view digest) {
  if (digest.size() == 64 && IsLowerHex(digest)) return absl::OkStatus();
  return Invalid(
      absl::StrCat("bad SHA-256 '", digest, "' (64 lower-case hex digits)"));
}

// The fields of a `car` line, f[0] being "car".
absl::StatusOr<IndexEntry> ParseCarLine(
    const std::vector<absl::string_view>& f) {
  if (f.size() != 8) {
    return Invalid(
        "a car line has 8 tab-separated fields: car, name, version, "
        "category, length, sha256, path, signer");
  }
  IndexEntry e;
  e.name = std::string(f[1]);
  if (!IsValidDriverName(e.name)) {
    return Invalid(absl::StrCat("bad driver name '", f[1], "'"));
  }
  auto version = SemVer::Parse(f[2]);
  if (!version.ok()) return Invalid(version.status().message());
  e.version = *version;
  RETURN_IF_ERROR(CheckCategory(f[3]));
  e.category = std::string(f[3]);
  ASSIGN_OR_RETURN(e.length, ParseLength(f[4]));
  RETURN_IF_ERROR(CheckSha256(f[5]));
  e.sha256 = std::string(f[5]);
  if (absl::Status s = CheckIndexPath(f[6]); !s.ok()) {
    return Invalid(s.message());
  }
  e.path = std::string(f[6]);
  e.signer = std::string(f[7]);
  return e;
}

// Canonical decimal only, as for lengths.
absl::StatusOr<uint64_t> ParseIndexVersion(absl::string_view text) {
  uint64_t version = 0;
  if (!absl::SimpleAtoi(text, &version) || version == 0 ||
      absl::StrCat(version) != text) {
    return Invalid(
        absl::StrCat("version must be a positive integer (got '", text, "')"));
  }
  return version;
}

absl::StatusOr<absl::Time> ParseIndexTime(absl::string_view field,
                                          absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", text, absl::UTCTimeZone(), &t,
                       &err)) {
    return Invalid(absl::StrCat(
        field, " must be a UTC time like 2026-01-31T12:00:00Z (got '", text,
        "')"));
  }
  return t;
}

// Builds an index from the lines after the header, in order.
class IndexBuilder {
 public:
  absl::Status AddLine(absl::string_view line) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f[0] == "car") return AddEntry(f);
    if (f.size() != 2) {
      return Invalid(absl::StrCat("expected 'car' or FIELD<TAB>VALUE, got '",
                                  line.substr(0, 60), "'"));
    }
    if (!seen_fields_.insert(std::string(f[0])).second) {
      return Invalid(absl::StrCat("'", f[0], "' appears twice"));
    }
    return SetField(f[0], f[1]);
  }

  // Checks what no single line shows.
  absl::Status Finish() const {
    for (const char* field : {"version", "generated", "expires"}) {
      if (seen_fields_.count(field) == 0) {
        return Invalid(absl::StrCat("the field '", field, "' is missing"));
      }
    }
    if (index_.expires <= index_.generated) {
      return Invalid("expires must be later than generated");
    }
    return absl::OkStatus();
  }

  RepositoryIndex Take() && {
    std::sort(index_.entries.begin(), index_.entries.end(), EntryLess);
    return std::move(index_);
  }

 private:
  absl::Status AddEntry(const std::vector<absl::string_view>& f) {
    ASSIGN_OR_RETURN(IndexEntry e, ParseCarLine(f));
    if (!seen_entries_.insert({e.name, e.version.ToString()}).second) {
      return Invalid(
          absl::StrCat(e.name, " ", e.version.ToString(), " is listed twice"));
    }
    index_.entries.push_back(std::move(e));
    return absl::OkStatus();
  }

  absl::Status SetField(absl::string_view name, absl::string_view value) {
    if (name == "version") {
      ASSIGN_OR_RETURN(index_.version, ParseIndexVersion(value));
    } else if (name == "generated") {
      ASSIGN_OR_RETURN(index_.generated, ParseIndexTime(name, value));
    } else if (name == "expires") {
      ASSIGN_OR_RETURN(index_.expires, ParseIndexTime(name, value));
    } else {
      return Invalid(absl::StrCat("unknown field '", name, "'"));
    }
    return absl::OkStatus();
  }

  RepositoryIndex index_;
  std::set<std::string> seen_fields_;
  std::set<std::pair<std::string, std::string>> seen_entries_;
};

// `line_no` 0: about the whole index.
absl::Status IndexError(absl::string_view source, int line_no,
                        absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      source, line_no > 0 ? absl::StrCat(":", line_no) : "", ": ", why,
      " (not a valid repository index; rebuild it with `pitstop repo "
      "build`)"));
}

}  // namespace

absl::StatusOr<RepositoryIndex> ParseIndex(absl::string_view text,
                                           absl::string_view source) {
  if (text.empty() || text.back() != '\n') {
    return IndexError(source, 1,
                      "the index must be non-empty and end with a newline");
  }
  text.remove_suffix(1);
  IndexBuilder builder;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::Status s = line_no == 1 ? CheckHeader(line) : builder.AddLine(line);
    if (!s.ok()) return IndexError(source, line_no, s.message());
  }
  if (absl::Status s = builder.Finish(); !s.ok()) {
    return IndexError(source, 0, s.message());
  }
  return std::move(builder).Take();
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
