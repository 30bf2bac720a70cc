#include "supervisor/install/package_loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/install/install_record.h"

namespace pitstop {

namespace fs = std::filesystem;

namespace {

// The package of an installed version, read from its files.
absl::StatusOr<DriverPackage> ReadInstalled(const fs::path& dir,
                                            DriverManifest manifest) {
  DriverPackage package;
  package.manifest = std::move(manifest);
  package.install_dir = dir.string();
  ASSIGN_OR_RETURN(package.messages,
                   MessageCatalog::Load((dir / "resources").string()));
  return package;
}

}  // namespace

absl::StatusOr<DriverPackage> LoadInstalledCar(const std::string& car_path,
                                               const std::string& packages_dir,
                                               const TrustPolicy& trust) {
  absl::StatusOr<InstallRecord> record =
      ReadInstallRecord(InstallRecordPath(packages_dir, car_path));
  if (!record.ok() || record->car_identity != CarIdentity(car_path) ||
      record->trust_identity != TrustIdentity(trust)) {
    return InstallCar(car_path, packages_dir, trust);
  }
  const fs::path dir = fs::path(packages_dir) / record->name / record->version;
  absl::StatusOr<DriverManifest> manifest =
      LoadDriverManifest((dir / "META-INF" / "driver.yaml").string());
  std::error_code ec;
  if (!manifest.ok() || manifest->name != record->name ||
      manifest->version.ToString() != record->version ||
      !fs::is_regular_file(dir / manifest->entrypoint, ec)) {
    return InstallCar(car_path, packages_dir, trust);  // damaged: again
  }
  absl::StatusOr<DriverPackage> package =
      ReadInstalled(dir, *std::move(manifest));
  if (!package.ok()) return InstallCar(car_path, packages_dir, trust);
  package->signer = record->signer;
  package->car_path = car_path;
  // As unpacked from the CAR: a binary changed on disk since fails the
  // check before its next start.
  package->entrypoint_sha256 = record->entrypoint_sha256;
  return package;
}

void MoveInstallRecord(const std::string& from, const std::string& to,
                       const std::string& packages_dir,
                       const TrustPolicy& trust) {
  const std::string old_path = InstallRecordPath(packages_dir, from);
  absl::StatusOr<InstallRecord> record = ReadInstallRecord(old_path);
  std::remove(old_path.c_str());
  if (!record.ok() || record->trust_identity != TrustIdentity(trust)) return;
  record->car_identity = CarIdentity(to);
  WriteInstallRecord(InstallRecordPath(packages_dir, to), *record)
      .IgnoreError();  // the next start unpacks it again
}

absl::StatusOr<DriverPackage> InstallCar(const std::string& car_path,
                                         const std::string& packages_dir,
                                         const TrustPolicy& trust) {
  std::error_code ec;
  const std::string car_identity = CarIdentity(car_path);
  const std::string trust_identity = TrustIdentity(trust);
  // Whatever was recorded no longer holds once this starts replacing files.
  const std::string record_path = InstallRecordPath(packages_dir, car_path);
  std::remove(record_path.c_str());
  // The signature is checked before anything is unpacked.
  std::string signer;
  absl::StatusOr<CarSigner> verified =
      trust.trust_dir.empty()
          ? absl::FailedPreconditionError("no trust directory is configured")
          : VerifyCar(car_path, trust.trust_dir);
  if (verified.ok()) {
    signer = verified->subject;
  } else if (trust.require_signed) {
    return absl::PermissionDeniedError(
        absl::StrCat("refusing ", car_path, ": require_signed is on and ",
                     verified.status().message()));
  } else if (!absl::StrContains(verified.status().message(), "not signed") &&
             !trust.trust_dir.empty()) {
    // Signed, but the signature does not hold: never install that.
    return verified.status();
  }
  fs::create_directories(packages_dir, ec);
  // Unpack under a private name first: the final name comes from driver.yaml.
  const std::string staging =
      (fs::path(packages_dir) /
       absl::StrCat(".unpack-", ::getpid(), "-",
                    fs::path(car_path).filename().string()))
          .string();
  fs::remove_all(staging, ec);
  RETURN_IF_ERROR(UnpackCar(car_path, staging));
  auto manifest = LoadDriverManifest(
      (fs::path(staging) / "META-INF" / "driver.yaml").string());
  if (!manifest.ok()) {
    fs::remove_all(staging, ec);
    return absl::Status(
        manifest.status().code(),
        absl::StrCat(car_path, ": ", manifest.status().message()));
  }
  const fs::path entry = fs::path(staging) / manifest->entrypoint;
  if (!fs::is_regular_file(entry, ec)) {
    fs::remove_all(staging, ec);
    return absl::InvalidArgumentError(absl::StrCat(
        car_path, ": entrypoint ", manifest->entrypoint, " is not in the CAR"));
  }
  const fs::path dest =
      fs::path(packages_dir) / manifest->name / manifest->version.ToString();
  fs::create_directories(dest.parent_path(), ec);
  // Search only, whatever the umask: the version directory is 0755.
  ::chmod(dest.parent_path().c_str(), 0711);
  fs::remove_all(dest, ec);
  fs::rename(staging, dest, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return absl::InternalError(absl::StrCat("installing ", car_path, " into ",
                                            dest.string(), ": ", ec.message()));
  }
  ASSIGN_OR_RETURN(DriverPackage package,
                   ReadInstalled(dest, *std::move(manifest)));
  package.signer = signer;
  package.car_path = car_path;
  ASSIGN_OR_RETURN(package.entrypoint_sha256,
                   Sha256File((dest / package.manifest.entrypoint).string()));
  // Only the identities seen before reading the CAR: a CAR replaced while
  // it was unpacked is unpacked again at the next start.
  if (absl::Status s = WriteInstallRecord(
          record_path,
          InstallRecord{car_identity, trust_identity, package.manifest.name,
                        package.manifest.version.ToString(), signer,
                        package.entrypoint_sha256});
      !s.ok()) {
    LogWarning("pitstopd",
               absl::StrCat(s.message(), "; ", car_path,
                            " will be unpacked again at the next start"));
  }
  return package;
}

absl::StatusOr<std::vector<std::string>> ListCars(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("drivers directory ", dir,
                     " does not exist; create it or pass --drivers-dir"));
  }
  std::vector<std::string> cars;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".car" && entry.is_regular_file(ec)) {
      cars.push_back(entry.path().string());
    }
  }
  std::sort(cars.begin(), cars.end());
  return cars;
}

std::vector<std::string> ReadGrants(const std::string& car_path) {
  std::ifstream in(car_path + ".grants");
  std::vector<std::string> grants;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) grants.push_back(line);
  }
  return grants;
}

absl::Status WriteGrants(const std::string& car_path,
                         const std::vector<std::string>& grants) {
  const std::string path = car_path + ".grants";
  if (grants.empty()) {
    std::remove(path.c_str());
    return absl::OkStatus();
  }
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& g : grants) out << g << "\n";
  out.flush();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace pitstop
