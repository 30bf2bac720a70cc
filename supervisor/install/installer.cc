#include "supervisor/install/installer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/install/install_record.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// Deletes an installed version's files: the unpacked package (and its
// driver's directory once empty), the CAR, its grants, its install record.
void DeleteFiles(const DriverPackage& p, const std::string& packages_dir) {
  std::error_code ec;
  fs::remove_all(p.install_dir, ec);
  const fs::path driver_dir = fs::path(p.install_dir).parent_path();
  if (fs::is_empty(driver_dir, ec)) fs::remove(driver_dir, ec);
  if (!p.car_path.empty()) {
    fs::remove(p.car_path, ec);
    fs::remove(p.car_path + ".grants", ec);
    fs::remove(InstallRecordPath(packages_dir, p.car_path), ec);
  }
}

bool StartsWithAny(const std::string& name,
                   std::initializer_list<absl::string_view> prefixes) {
  for (absl::string_view prefix : prefixes) {
    if (absl::StartsWith(name, prefix)) return true;
  }
  return false;
}

// What an install, a download or a remove that a crash interrupted left:
// partial CARs in the drivers directory, staging directories in the
// packages directory, records of CARs that are gone, empty driver
// directories.
void RemoveLeftovers(const std::string& drivers_dir,
                     const std::string& packages_dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(drivers_dir, ec)) {
    if (StartsWithAny(e.path().filename().string(),
                      {".fetch-", ".incoming-"})) {
      LogInfo("pitstopd", "removed what an interrupted install left",
              {{"path", e.path().string()}});
      fs::remove(e.path(), ec);
    }
  }
  for (const auto& e : fs::directory_iterator(packages_dir, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code inner;
    if (StartsWithAny(name, {".staging-", ".unpack-"})) {
      LogInfo("pitstopd", "removed what an interrupted install left",
              {{"path", e.path().string()}});
      fs::remove_all(e.path(), inner);
    } else if (name != ".installed" && e.is_directory(inner) &&
               fs::is_empty(e.path(), inner)) {
      fs::remove(e.path(), inner);
    }
  }
  const fs::path records = fs::path(packages_dir) / ".installed";
  for (const auto& e : fs::directory_iterator(records, ec)) {
    std::error_code inner;
    if (!fs::exists(fs::path(drivers_dir) / e.path().filename(), inner)) {
      fs::remove(e.path(), inner);  // its CAR is gone, or a temporary file
    }
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const DriverPackage>> Installer::InstallBytes(
    const std::string& bytes, const std::vector<std::string>& grants) {
  std::error_code ec;
  fs::create_directories(options_.drivers_dir, ec);
  // Received into the drivers directory under a name the loader ignores.
  std::string tmp =
      (fs::path(options_.drivers_dir) / ".incoming-XXXXXX").string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot write into ",
                                            options_.drivers_dir, ": ",
                                            std::strerror(errno)));
  }
  absl::Cleanup remove_tmp = [&] { fs::remove(tmp, ec); };
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      ::close(fd);
      return absl::InternalError(
          absl::StrCat("cannot store the CAR in ", options_.drivers_dir, ": ",
                       n < 0 ? std::strerror(errno) : "short write"));
    }
    off += n;
  }
  ::close(fd);
  return InstallFile(tmp, grants);
}

absl::StatusOr<std::shared_ptr<const DriverPackage>> Installer::InstallFile(
    const std::string& path, const std::vector<std::string>& grants) {
  std::error_code ec;
  // Name and version first: an installed version's files are never touched.
  ASSIGN_OR_RETURN(std::string yaml,
                   ReadCarEntry(path, "META-INF/driver.yaml"));
  ASSIGN_OR_RETURN(DriverManifest manifest,
                   ParseDriverManifest(yaml, "META-INF/driver.yaml"));
  const std::string version = manifest.version.ToString();
  if (auto existing = supervisor_.Get(manifest.name); existing.ok()) {
    for (const std::string& v : existing->installed_versions) {
      if (v == version) {
        return absl::AlreadyExistsError(absl::StrCat(
            "driver ", manifest.name, " ", version,
            " is already installed; remove it first (`pitstop remove ",
            manifest.name,
            v == existing->package->manifest.version.ToString()
                ? ""
                : absl::StrCat(" --version ", v),
            "`)"));
      }
    }
  }
  const std::string final_path =
      (fs::path(options_.drivers_dir) /
       absl::StrCat(manifest.name, "-", version, ".car"))
          .string();
  ASSIGN_OR_RETURN(DriverPackage package,
                   InstallCar(path, options_.packages_dir, options_.trust));
  fs::rename(path, final_path, ec);
  if (ec) {
    fs::remove_all(package.install_dir, ec);
    return absl::InternalError(
        absl::StrCat("cannot keep the CAR as ", final_path));
  }
  MoveInstallRecord(path, final_path, options_.packages_dir, options_.trust);
  package.car_path = final_path;
  package.grants = grants;
  if (absl::Status s = WriteGrants(final_path, grants); !s.ok()) {
    DeleteFiles(package, options_.packages_dir);
    return s;
  }
  auto shared = std::make_shared<const DriverPackage>(package);
  if (absl::Status s = supervisor_.AddDriver(std::move(package)); !s.ok()) {
    DeleteFiles(*shared, options_.packages_dir);
    return s;
  }
  return shared;
}

absl::StatusOr<std::vector<std::shared_ptr<const DriverPackage>>>
Installer::Remove(const std::string& name, const std::string& version) {
  std::vector<std::shared_ptr<const DriverPackage>> removed;
  if (version.empty()) {
    ASSIGN_OR_RETURN(removed, supervisor_.RemoveDriver(name));
  } else {
    ASSIGN_OR_RETURN(std::shared_ptr<const DriverPackage> one,
                     supervisor_.RemoveVersion(name, version));
    removed.push_back(std::move(one));
  }
  for (const auto& p : removed) DeleteFiles(*p, options_.packages_dir);
  return removed;
}

void Installer::LoadAll() {
  RemoveLeftovers(options_.drivers_dir, options_.packages_dir);
  auto cars = ListCars(options_.drivers_dir);
  if (!cars.ok()) {
    LogWarning("pitstopd", cars.status().message());
    return;
  }
  for (const std::string& car : *cars) {
    auto package = LoadInstalledCar(car, options_.packages_dir, options_.trust);
    if (!package.ok()) {
      LogError("pitstopd", package.status().message(), {{"car", car}});
      continue;
    }
    package->grants = ReadGrants(car);
    const std::string name = package->manifest.name;
    const std::string version = package->manifest.version.ToString();
    const std::string signer = package->signer;
    if (absl::Status s = supervisor_.AddDriver(*std::move(package)); !s.ok()) {
      LogError("pitstopd", absl::StrCat(car, ": ", s.message()),
               {{"car", car}});
      continue;
    }
    LogInfo("pitstopd", "driver installed",
            {{"driver", name},
             {"version", version},
             {"car", car},
             {"signer", signer.empty() ? "(unsigned)" : signer}});
  }
}

}  // namespace pitstop
