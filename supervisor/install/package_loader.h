#ifndef PITSTOP_SUPERVISOR_INSTALL_PACKAGE_LOADER_H_
#define PITSTOP_SUPERVISOR_INSTALL_PACKAGE_LOADER_H_

// Turns CAR files into installed DriverPackages under a packages directory:
// <packages_dir>/<name>/<version>/ holds the unpacked CAR.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/core/driver_package.h"

namespace pitstop {

// Unpacks `car_path` and reads its driver.yaml and message bundle. An
// existing installation of the same name and version is replaced, so the
// installed files always match the CAR. Errors name the CAR.
struct TrustPolicy {
  // Refuse CARs without a valid signature.
  bool require_signed = false;
  // Trusted root certificates (*.pem, *.crt); empty: none.
  std::string trust_dir;
};

// A signed CAR is always verified (a bad signature is refused whatever the
// policy); an unsigned one is refused when the policy requires signatures.
absl::StatusOr<DriverPackage> InstallCar(const std::string& car_path,
                                         const std::string& packages_dir,
                                         const TrustPolicy& trust = {});

// At start-up: the installed version of `car_path` as it is on disk when
// the CAR file and the trust policy have not changed since InstallCar
// unpacked it (install_record.h), without unpacking or verifying again;
// otherwise (or when the installed files are damaged) InstallCar.
absl::StatusOr<DriverPackage> LoadInstalledCar(const std::string& car_path,
                                               const std::string& packages_dir,
                                               const TrustPolicy& trust = {});

// The CAR InstallCar read at `from` was renamed to `to`: its install record
// follows it (with the identity the rename gave it).
void MoveInstallRecord(const std::string& from, const std::string& to,
                       const std::string& packages_dir,
                       const TrustPolicy& trust);

// The permissions an operator granted to the driver of `car_path` at
// install ("network=outbound"), one a line in <car_path>.grants; none when
// the file does not exist.
std::vector<std::string> ReadGrants(const std::string& car_path);
// Writes <car_path>.grants (removes it when `grants` is empty). INTERNAL
// naming the file on failure.
absl::Status WriteGrants(const std::string& car_path,
                         const std::vector<std::string>& grants);

// Every *.car file directly in `dir`, sorted by name. NOT_FOUND when `dir`
// does not exist.
absl::StatusOr<std::vector<std::string>> ListCars(const std::string& dir);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_INSTALL_PACKAGE_LOADER_H_
