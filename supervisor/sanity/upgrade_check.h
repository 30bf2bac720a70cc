#ifndef PITSTOP_SUPERVISOR_SANITY_UPGRADE_CHECK_H_
#define PITSTOP_SUPERVISOR_SANITY_UPGRADE_CHECK_H_

// pitstop-sanity's lifecycle.upgrade-to-itself: the driver upgraded in place
// to a copy of itself (its CAR repacked with a higher version) under calls,
// with none failing (docs/lifecycle.md, "In-place upgrade").

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "supervisor/car/semver.h"
#include "supervisor/sanity/sanity_checks.h"

namespace pitstop {

// The version a copy of `v` takes for its `n`th upgrade to itself: the next
// patch, pre-release "sanity.n" (1.0.0 -> 1.0.1-sanity.1), above `v`.
SemVer SelfUpgradeVersion(const SemVer& v, int n);

// `car` repacked into `out` with driver.yaml's version set to `version`;
// its signature and manifest are dropped (they would no longer match), so
// the copy is unsigned. Errors name the file.
absl::Status RepackWithVersion(const std::string& car, const SemVer& version,
                               const std::string& out);

absl::Status UpgradesToItselfUnderLoad(SanityTarget& t);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_UPGRADE_CHECK_H_
