#ifndef PITSTOP_SUPERVISOR_REPO_REPOSITORY_SET_H_
#define PITSTOP_SUPERVISOR_REPO_REPOSITORY_SET_H_

// The daemon's driver repositories (docs/repository.md): the ones of its
// configuration plus the ones an operator added. RepositorySet keeps the
// newest verified index of each, refuses an index that is expired, older
// than the last one seen (persisted in a RepositoryStore), or re-uses a
// seen version with other content, and downloads CARs capped at their
// indexed length and checked against their indexed SHA-256.
//
// Thread-safe. Refresh, Add and Fetch block for network transfers; they
// never hold mu_ while doing so (refresh_mu_ serialises the refreshes, so
// the seen versions only move forward).

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/common/clock.h"
#include "supervisor/repo/repository_fetch.h"
#include "supervisor/repo/repository_store.h"

namespace pitstop {

struct RepositoryStatus {
  std::string name;
  std::string url;  // normalized
  bool from_config = false;
  // The newest accepted index; nullopt until one is.
  std::optional<RepositoryIndex> index;
  std::string index_signer;
  absl::Time last_refresh = absl::InfinitePast();  // last attempt
  std::string last_error;  // of the last attempt; "" when it succeeded
};

// A CAR downloaded from a repository.
struct FetchedCar {
  std::string path;        // in the caller's dest_dir; the caller owns it
  std::string repository;  // its name
  std::string url;         // the CAR's URL
  IndexEntry entry;
};

struct AvailableUpdate {
  std::string name;
  std::string installed_version;
  std::string available_version;  // the newest offered
  std::string repository;
};

class RepositorySet {
 public:
  // `store` outlives the set.
  RepositorySet(Clock& clock, RepositoryStore& store, FetchOptions options)
      : clock_(clock),
        store_(store),
        options_(WithCancel(std::move(options))) {}

  // Stops every download in flight and every later one (CANCELLED), e.g.
  // when the daemon shuts down. Does not block.
  void Cancel() { cancelled_ = true; }

  // Sets the configured repositories (name -> URL or directory) and loads
  // the operator-added ones from the store. Fetches nothing.
  // INVALID_ARGUMENT for a bad name or URL, naming it.
  absl::Status Load(const std::map<std::string, std::string>& configured)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Adds an operator repository: its index must download and verify now.
  // ALREADY_EXISTS for a known name; the errors of Refresh otherwise.
  absl::StatusOr<RepositoryStatus> Add(const std::string& name,
                                       const std::string& url)
      ABSL_LOCKS_EXCLUDED(mu_, refresh_mu_);

  // Removes an operator repository. NOT_FOUND; FAILED_PRECONDITION for a
  // configured one (edit the configuration instead).
  absl::Status Remove(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);

  // Every repository, by name.
  std::vector<RepositoryStatus> List() ABSL_LOCKS_EXCLUDED(mu_);

  // Downloads and checks every repository's index. A refused index is
  // recorded as the repository's last_error and the previous one is kept
  // (it still expires). Returns the first error, or OK.
  absl::Status Refresh() ABSL_LOCKS_EXCLUDED(mu_, refresh_mu_);

  // Refreshes, then downloads the newest CAR of driver `name` whose version
  // matches `version` (empty: any; "1.2.3": exactly; or a range such as
  // ">=1.0.0 <2.0.0") from a repository whose index is valid now, into a
  // new file in `dest_dir` whose name does not end in .car. The CAR has
  // exactly the indexed length and SHA-256; its own signature is the
  // installer's to check. NOT_FOUND naming what the repositories offer;
  // the download errors of FetchIndexedCar.
  absl::StatusOr<FetchedCar> Fetch(const std::string& name,
                                   const std::string& version,
                                   const std::string& dest_dir)
      ABSL_LOCKS_EXCLUDED(mu_, refresh_mu_);

  // For each installed driver (name -> version), the newest version a
  // repository offers if it is newer. Uses the indexes as last refreshed
  // (skipping expired ones); sorted by name.
  std::vector<AvailableUpdate> Updates(
      const std::map<std::string, std::string>& installed)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Repo {
    std::string url;
    bool from_config = false;
    std::optional<VerifiedIndex> index;
    absl::Time last_refresh = absl::InfinitePast();
    std::string last_error;
  };
  absl::Status RefreshOne(const std::string& name, const std::string& url)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(refresh_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  static RepositoryStatus StatusOf(const std::string& name, const Repo& r);
  FetchOptions WithCancel(FetchOptions o) {
    o.cancelled = &cancelled_;
    return o;
  }

  std::atomic<bool> cancelled_{false};
  // Constant after construction
  Clock& clock_;
  RepositoryStore& store_;
  const FetchOptions options_;

  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Guarded by mu_
  absl::Mutex mu_;
  std::map<std::string, Repo> repos_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_REPO_REPOSITORY_SET_H_
