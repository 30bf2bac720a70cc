#ifndef PITSTOP_SUPERVISOR_CAR_SEMVER_H_
#define PITSTOP_SUPERVISOR_CAR_SEMVER_H_

// Semantic versions (semver.org 2.0) and the version ranges of driver.yaml's
// `requires`, e.g. ">=1.0.0 <2.0.0".

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop {

struct SemVer {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string prerelease;  // e.g. "rc.1"; empty for a release.
  std::string build;       // ignored in comparisons.

  // INVALID_ARGUMENT naming the text when it is not MAJOR.MINOR.PATCH.
  static absl::StatusOr<SemVer> Parse(absl::string_view text);
  std::string ToString() const;
};

// Precedence per semver.org: build metadata ignored, a pre-release sorts
// before its release.
int Compare(const SemVer& a, const SemVer& b);
inline bool operator<(const SemVer& a, const SemVer& b) {
  return Compare(a, b) < 0;
}
inline bool operator==(const SemVer& a, const SemVer& b) {
  return Compare(a, b) == 0;
}

// A conjunction of comparisons: ">=1.0.0 <2.0.0", "=1.4.2", "1.4.2".
class VersionRange {
 public:
  static absl::StatusOr<VersionRange> Parse(absl::string_view text);
  bool Contains(const SemVer& v) const;
  const std::string& text() const { return text_; }

 private:
  enum class Op { kEq, kLt, kLe, kGt, kGe };
  struct Term {
    Op op;
    SemVer version;
  };
  std::string text_;
  std::vector<Term> terms_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_SEMVER_H_
