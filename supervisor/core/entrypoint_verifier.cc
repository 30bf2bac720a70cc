#include "supervisor/core/entrypoint_verifier.h"

#include "absl/strings/str_cat.h"
#include "supervisor/car/car_signature.h"

namespace pitstop {
namespace {

// A file changed more recently than this is hashed on every start.
constexpr absl::Duration kRacyWindow = absl::Seconds(1);

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

bool EntrypointVerifier::Identity::operator==(const Identity& o) const {
  return dev == o.dev && ino == o.ino && size == o.size &&
         SameTime(mtime, o.mtime) && SameTime(ctime, o.ctime);
}

bool EntrypointVerifier::Stat(const std::string& path, Identity& out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.size = st.st_size;
  out.mtime = st.st_mtim;
  out.ctime = st.st_ctim;
  return true;
}

absl::Status EntrypointVerifier::Verify(const std::string& path,
                                        const std::string& expected_sha256) {
  auto changed = [&path] {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " changed on disk since it was installed (its SHA-256 "
                     "no longer matches); reinstall the CAR"));
  };
  Identity before;
  if (!Stat(path, before)) return changed();
  {
    absl::MutexLock lock(&mu_);
    auto it = verified_.find(path);
    if (it != verified_.end() && it->second.identity == before &&
        it->second.sha256 == expected_sha256) {
      return absl::OkStatus();
    }
    verified_.erase(path);
    ++hashes_;
  }
  absl::StatusOr<std::string> digest = Sha256File(path);
  if (!digest.ok() &&
      digest.status().code() == absl::StatusCode::kUnavailable) {
    // The daemon is out of descriptors: the binary may be fine.
    return absl::UnavailableError(absl::StrCat(
        digest.status().message(),
        " (pitstopd is out of file descriptors: raise its nofile limit); "
        "the start is tried again"));
  }
  if (!digest.ok() || *digest != expected_sha256) return changed();
  Identity after;
  const absl::Time changed_at = absl::TimeFromTimespec(before.ctime);
  if (Stat(path, after) && after == before &&
      changed_at <= clock_.Now() - kRacyWindow) {
    absl::MutexLock lock(&mu_);
    verified_[path] = Verified{before, expected_sha256};
  }
  return absl::OkStatus();
}

uint64_t EntrypointVerifier::hashes() const {
  absl::MutexLock lock(&mu_);
  return hashes_;
}

}  // namespace pitstop
