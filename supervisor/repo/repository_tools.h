#ifndef PITSTOP_SUPERVISOR_REPO_REPOSITORY_TOOLS_H_
#define PITSTOP_SUPERVISOR_REPO_REPOSITORY_TOOLS_H_

// The publisher's and the mirror operator's side of repositories
// (docs/repository.md): `pitstop repo build`, `repo verify`, `repo mirror`.
// Each function blocks; none keeps state.

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/repo/repository_fetch.h"

namespace pitstop {

struct BuildOptions {
  std::string key_path;
  std::string cert_path;
  std::string chain_path;  // may be empty
  absl::Duration valid_for = absl::Hours(24 * 30);
  // 0: one more than the index already in the directory (1 without one).
  uint64_t version = 0;
};

// Writes <dir>/pitstop-index listing every *.car under `dir` (recursively,
// sorted) with its name, version and category from its driver.yaml, its
// length, SHA-256, relative path and (unverified) signer, and
// <dir>/pitstop-index.sig; both replaced atomically. INVALID_ARGUMENT
// naming a CAR that cannot be listed, or a version that would not grow.
absl::StatusOr<RepositoryIndex> BuildRepository(const std::string& dir,
                                                const BuildOptions& options,
                                                absl::Time now);

struct VerifyReport {
  VerifiedIndex index;
  int cars_checked = 0;
};

// Checks a repository as a daemon would: the index signature, its expiry,
// and (with `check_cars`) every CAR's length and SHA-256, each also
// verified as a signed CAR against options.trust_dir when the index names
// a signer. The first failure is returned, naming the URL and CAR.
absl::StatusOr<VerifyReport> VerifyRepository(const std::string& url,
                                              const FetchOptions& options,
                                              absl::Time now, bool check_cars,
                                              const std::string& scratch_dir);

struct MirrorReport {
  uint64_t index_version = 0;
  int fetched = 0;  // CARs downloaded
  int kept = 0;     // CARs already present and intact
};

// Copies the repository at `url` into `dir` byte for byte: the index and
// its signature exactly as served, and every CAR at its relative path.
// The index is verified first (signature, expiry, and never older than an
// index already in `dir`); each CAR is downloaded to <path>.part (resumed
// when a partial one exists), checked against the index and renamed into
// place; intact CARs already present are kept. The index and signature
// are written last, so an interrupted mirror still serves its previous,
// consistent index; running it again resumes. `progress` (may be empty)
// is told about each CAR.
absl::StatusOr<MirrorReport> MirrorRepository(
    const std::string& url, const std::string& dir, const FetchOptions& options,
    absl::Time now,
    const std::function<void(const std::string&)>& progress = {});

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_REPO_REPOSITORY_TOOLS_H_
