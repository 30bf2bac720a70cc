#include "supervisor/repo/repository_set.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

absl::Status CheckRepositoryName(const std::string& name) {
  if (!IsValidDriverName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "repository name '", name,
        "' must be lowercase letters, digits and '-', starting with a "
        "letter"));
  }
  return absl::OkStatus();
}

// Whether `v` matches the user's version text: "" any, "1.2.3" exactly,
// otherwise a range.
absl::StatusOr<bool> Matches(const SemVer& v, const std::string& wanted) {
  if (wanted.empty()) return true;
  if (auto exact = SemVer::Parse(wanted); exact.ok()) return v == *exact;
  ASSIGN_OR_RETURN(VersionRange range, VersionRange::Parse(wanted));
  return range.Contains(v);
}

}  // namespace

absl::Status RepositorySet::Load(
    const std::map<std::string, std::string>& configured) {
  std::map<std::string, Repo> repos;
  for (const auto& [name, url] : configured) {
    RETURN_IF_ERROR(CheckRepositoryName(name));
    ASSIGN_OR_RETURN(std::string normalized, NormalizeRepositoryUrl(url));
    repos[name] = Repo{normalized, true};
  }
  ASSIGN_OR_RETURN(auto added, store_.LoadRepositories());
  for (const auto& [name, url] : added) {
    if (repos.count(name) != 0) continue;  // the configuration wins
    repos[name] = Repo{url, false};
  }
  absl::MutexLock lock(&mu_);
  repos_ = std::move(repos);
  return absl::OkStatus();
}

RepositoryStatus RepositorySet::StatusOf(const std::string& name,
                                         const Repo& r) {
  RepositoryStatus s;
  s.name = name;
  s.url = r.url;
  s.from_config = r.from_config;
  if (r.index) {
    s.index = r.index->index;
    s.index_signer = r.index->signer.subject;
  }
  s.last_refresh = r.last_refresh;
  s.last_error = r.last_error;
  return s;
}

absl::StatusOr<RepositoryStatus> RepositorySet::Add(const std::string& name,
                                                    const std::string& url) {
  RETURN_IF_ERROR(CheckRepositoryName(name));
  ASSIGN_OR_RETURN(std::string normalized, NormalizeRepositoryUrl(url));
  absl::MutexLock refresh(&refresh_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (auto it = repos_.find(name); it != repos_.end()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "repository ", name, " already exists (", it->second.url,
          "); remove it first (`pitstop repo remove ", name, "`)"));
    }
    repos_[name] = Repo{normalized, false};
  }
  absl::Status s = RefreshOne(name, normalized);
  if (s.ok()) s = store_.SaveRepository(name, normalized);
  absl::MutexLock lock(&mu_);
  if (!s.ok()) {
    repos_.erase(name);
    return s;
  }
  return StatusOf(name, repos_[name]);
}

absl::Status RepositorySet::Remove(const std::string& name) {
  {
    absl::MutexLock lock(&mu_);
    auto it = repos_.find(name);
    if (it == repos_.end()) {
      return absl::NotFoundError(absl::StrCat("no repository named ", name,
                                              "; see `pitstop repo list`"));
    }
    if (it->second.from_config) {
      return absl::FailedPreconditionError(absl::StrCat(
          "repository ", name,
          " comes from the daemon's configuration file; remove it there and "
          "restart pitstopd"));
    }
    repos_.erase(it);
  }
  return store_.DeleteRepository(name);
}

std::vector<RepositoryStatus> RepositorySet::List() {
  absl::MutexLock lock(&mu_);
  std::vector<RepositoryStatus> out;
  for (const auto& [name, r] : repos_) out.push_back(StatusOf(name, r));
  return out;
}

absl::Status RepositorySet::RefreshOne(const std::string& name,
                                       const std::string& url) {
  absl::StatusOr<VerifiedIndex> fetched = FetchVerifiedIndex(url, options_);
  absl::Status s = fetched.status();
  if (s.ok()) {
    absl::StatusOr<std::optional<SeenIndex>> seen = store_.LoadSeenIndex(name);
    s = seen.status();
    if (s.ok()) {
      s = CheckIndexFreshness(fetched->index, fetched->sha256, *seen,
                              clock_.Now(), url);
    }
    if (s.ok() && (!*seen || fetched->index.version > (*seen)->version)) {
      s = store_.SaveSeenIndex(
          name, SeenIndex{fetched->index.version, fetched->sha256});
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = repos_.find(name);
  if (it == repos_.end() || it->second.url != url) return s;  // removed
  it->second.last_refresh = clock_.Now();
  it->second.last_error = s.ok() ? "" : std::string(s.message());
  if (s.ok()) it->second.index = *std::move(fetched);
  return s;
}

absl::Status RepositorySet::Refresh() {
  absl::MutexLock refresh(&refresh_mu_);
  std::vector<std::pair<std::string, std::string>> targets;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, r] : repos_) targets.emplace_back(name, r.url);
  }
  absl::Status first;
  for (const auto& [name, url] : targets) {
    absl::Status s = RefreshOne(name, url);
    if (first.ok()) first = s;
  }
  return first;
}

absl::StatusOr<FetchedCar> RepositorySet::Fetch(const std::string& name,
                                                const std::string& version,
                                                const std::string& dest_dir) {
  // A repository that cannot be reached now may still serve from the index
  // it last gave, until that index expires.
  (void)Refresh();
  std::optional<FetchedCar> best;
  std::vector<std::string> offered;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    for (const auto& [repo_name, r] : repos_) {
      if (!r.index || r.index->index.expires <= now) continue;
      for (const IndexEntry& e : r.index->index.entries) {
        if (e.name != name) continue;
        offered.push_back(
            absl::StrCat(e.version.ToString(), " (", repo_name, ")"));
        ASSIGN_OR_RETURN(bool match, Matches(e.version, version));
        if (!match) continue;
        if (best && !(best->entry.version < e.version)) continue;
        best = FetchedCar{"", repo_name, r.url, e};
      }
    }
  }
  if (!best) {
    std::vector<std::string> problems;
    for (const RepositoryStatus& r : List()) {
      if (!r.last_error.empty()) problems.push_back(r.last_error);
    }
    return absl::NotFoundError(absl::StrCat(
        "no repository offers ", name, version.empty() ? "" : "@", version,
        offered.empty()
            ? " at all"
            : absl::StrCat("; offered: ", absl::StrJoin(offered, ", ")),
        problems.empty() ? ""
                         : absl::StrCat(" (repository errors: ",
                                        absl::StrJoin(problems, "; "), ")"),
        "; see `pitstop repo list`"));
  }
  std::error_code ec;
  std::filesystem::create_directories(dest_dir, ec);
  std::string path = (std::filesystem::path(dest_dir) /
                      absl::StrCat(".fetch-", name, "-XXXXXX"))
                         .string();
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot write into ", dest_dir));
  }
  ::close(fd);
  const std::string repo_url = best->url;
  best->url = JoinUrl(repo_url, best->entry.path);
  best->path = path;
  RETURN_IF_ERROR(FetchIndexedCar(repo_url, best->entry, path, options_));
  return *std::move(best);
}

std::vector<AvailableUpdate> RepositorySet::Updates(
    const std::map<std::string, std::string>& installed) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  std::map<std::string, AvailableUpdate> out;
  std::map<std::string, SemVer> best;
  for (const auto& [repo_name, r] : repos_) {
    if (!r.index || r.index->index.expires <= now) continue;
    for (const IndexEntry& e : r.index->index.entries) {
      auto it = installed.find(e.name);
      if (it == installed.end()) continue;
      auto current = SemVer::Parse(it->second);
      if (!current.ok() || !(*current < e.version)) continue;
      auto b = best.find(e.name);
      if (b != best.end() && !(b->second < e.version)) continue;
      best[e.name] = e.version;
      out[e.name] =
          AvailableUpdate{e.name, it->second, e.version.ToString(), repo_name};
    }
  }
  std::vector<AvailableUpdate> list;
  for (auto& [name, u] : out) list.push_back(std::move(u));
  return list;
}

}  // namespace pitstop
