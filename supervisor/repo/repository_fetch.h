#ifndef PITSTOP_SUPERVISOR_REPO_REPOSITORY_FETCH_H_
#define PITSTOP_SUPERVISOR_REPO_REPOSITORY_FETCH_H_

// The two verified downloads everything else is built from: a repository's
// signed index, and one CAR it lists (capped at the indexed length, checked
// against the indexed SHA-256 before anyone opens it). Thread-safe; blocks
// for the transfer.

#include <string>

#include "absl/status/statusor.h"
#include "supervisor/car/detached_signature.h"
#include "supervisor/repo/fetcher.h"
#include "supervisor/repo/repository_index.h"

namespace pitstop {

struct FetchOptions {
  // The project's roots (*.pem, *.crt) the index signer must chain to.
  std::string trust_dir;
  // Caps of the index download (the signature gets at most 1 MiB).
  uint64_t max_index_bytes = 16 << 20;
  absl::Duration timeout = absl::Minutes(5);
  absl::Duration stall_timeout = absl::Seconds(30);
  // When set and true, downloads stop: CANCELLED (see FetchLimits).
  const std::atomic<bool>* cancelled = nullptr;
};

struct VerifiedIndex {
  RepositoryIndex index;
  std::string bytes;      // the index file, exactly as served
  std::string signature;  // the signature file, exactly as served
  std::string sha256;     // of `bytes`
  Signer signer;
};

// Downloads <url>/pitstop-index and <url>/pitstop-index.sig, verifies the
// signature against options.trust_dir and parses the index. Does NOT check
// expiry or rollback (CheckIndexFreshness does). `url` is normalized.
// FAILED_PRECONDITION without a trust_dir; otherwise the errors of
// FetchToString, VerifyDetached and ParseIndex, naming the URL.
absl::StatusOr<VerifiedIndex> FetchVerifiedIndex(const std::string& url,
                                                 const FetchOptions& options);

// Downloads the CAR of `entry` from the repository at `url` into `path`,
// reading at most entry.length bytes, and checks its length and SHA-256.
// With `resume`, continues a partial `path`. On failure `path` is removed
// unless `resume` (a partial file is kept to continue later; a file with
// the wrong digest never is). INVALID_ARGUMENT for a truncated file or a
// digest mismatch, RESOURCE_EXHAUSTED for an oversized one, naming the URL.
absl::Status FetchIndexedCar(const std::string& url, const IndexEntry& entry,
                             const std::string& path,
                             const FetchOptions& options, bool resume = false);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_REPO_REPOSITORY_FETCH_H_
