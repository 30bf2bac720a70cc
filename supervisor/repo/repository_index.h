#ifndef PITSTOP_SUPERVISOR_REPO_REPOSITORY_INDEX_H_
#define PITSTOP_SUPERVISOR_REPO_REPOSITORY_INDEX_H_

// The index of a driver repository (docs/repository.md): a text file
// `pitstop-index` listing every CAR of the repository, with a version number
// that only grows and an expiry time, and beside it `pitstop-index.sig`, a
// detached CMS signature over the index's exact bytes by a key that chains
// to the project's root. Parsing is strict: anything unexpected is refused.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/car/semver.h"

namespace pitstop {

inline constexpr char kIndexFile[] = "pitstop-index";
inline constexpr char kIndexSignatureFile[] = "pitstop-index.sig";
// Largest CAR an index may list.
inline constexpr uint64_t kMaxIndexedCarBytes = 1ull << 30;

struct IndexEntry {
  std::string name;
  SemVer version;
  std::string category;  // network | storage | hypervisor
  uint64_t length = 0;   // bytes of the CAR
  std::string sha256;    // hex, lower case
  std::string path;      // relative to the repository's root, e.g. a/b.car
  std::string signer;    // the CAR signer's subject as built; "" unsigned
};

struct RepositoryIndex {
  uint64_t version = 0;  // > 0; grows with every build
  absl::Time generated;
  absl::Time expires;
  std::vector<IndexEntry> entries;  // sorted by name, then version
};

// The index's text. Serialize(Parse(x)) == x for every accepted x.
std::string SerializeIndex(const RepositoryIndex& index);

// Parses an index. INVALID_ARGUMENT naming `source` (e.g. its URL) and the
// line: a bad header, a missing or repeated field, a bad name, version,
// category, length, digest or path (absolute, "..", not *.car), two
// entries with the same name and version.
absl::StatusOr<RepositoryIndex> ParseIndex(absl::string_view text,
                                           absl::string_view source);

// Checks that a relative path of an index entry is safe to join to a
// repository's root or a mirror's directory.
absl::Status CheckIndexPath(absl::string_view path);

// What a daemon remembers of the newest index it accepted from a
// repository.
struct SeenIndex {
  uint64_t version = 0;
  std::string sha256;  // of the index's bytes
};

// The rollback and freeze rules: FAILED_PRECONDITION when `index` expired
// at or before `now`, when its version is older than `seen`'s, or when it
// has `seen`'s version but other bytes (`index_sha256`). `source` names the
// repository in errors.
absl::Status CheckIndexFreshness(const RepositoryIndex& index,
                                 const std::string& index_sha256,
                                 const std::optional<SeenIndex>& seen,
                                 absl::Time now, absl::string_view source);

// "30d", "12h", "90m", "3600s" (or any absl duration): a validity period.
absl::StatusOr<absl::Duration> ParseValidity(absl::string_view text);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_REPO_REPOSITORY_INDEX_H_
