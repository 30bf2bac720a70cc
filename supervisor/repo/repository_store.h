#ifndef PITSTOP_SUPERVISOR_REPO_REPOSITORY_STORE_H_
#define PITSTOP_SUPERVISOR_REPO_REPOSITORY_STORE_H_

// What the daemon keeps about repositories across restarts: the ones an
// operator added (`pitstop repo add`), and for every repository the newest
// index it accepted, for the rollback rules. store/ implements it with
// SQLite; tests use InMemoryRepositoryStore.

#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/repo/repository_index.h"

namespace pitstop {

class RepositoryStore {
 public:
  virtual ~RepositoryStore() = default;
  // Operator-added repositories: name -> URL.
  virtual absl::StatusOr<std::map<std::string, std::string>>
  LoadRepositories() = 0;
  virtual absl::Status SaveRepository(const std::string& name,
                                      const std::string& url) = 0;
  // Forgets an operator-added repository and its seen index.
  virtual absl::Status DeleteRepository(const std::string& name) = 0;
  // The newest index accepted from `name`; nullopt if none yet.
  virtual absl::StatusOr<std::optional<SeenIndex>> LoadSeenIndex(
      const std::string& name) = 0;
  virtual absl::Status SaveSeenIndex(const std::string& name,
                                     const SeenIndex& seen) = 0;
};

// For tests and for a daemon without a state database. Thread-safe.
class InMemoryRepositoryStore final : public RepositoryStore {
 public:
  absl::StatusOr<std::map<std::string, std::string>> LoadRepositories() override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return repositories_;
  }
  absl::Status SaveRepository(const std::string& name,
                              const std::string& url) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    repositories_[name] = url;
    return absl::OkStatus();
  }
  absl::Status DeleteRepository(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    repositories_.erase(name);
    seen_.erase(name);
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<SeenIndex>> LoadSeenIndex(
      const std::string& name) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = seen_.find(name);
    if (it == seen_.end()) return std::optional<SeenIndex>();
    return std::optional<SeenIndex>(it->second);
  }
  absl::Status SaveSeenIndex(const std::string& name,
                             const SeenIndex& seen) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    seen_[name] = seen;
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> repositories_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SeenIndex> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_REPO_REPOSITORY_STORE_H_
