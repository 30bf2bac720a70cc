#ifndef PITSTOP_SUPERVISOR_INSTALL_INSTALLER_H_
#define PITSTOP_SUPERVISOR_INSTALL_INSTALLER_H_

// Installs and removes drivers as files and in the Supervisor, as one
// transaction each: a CAR is kept as <drivers_dir>/<name>-<version>.car
// (with its <car>.grants), unpacked under <packages_dir>/<name>/<version>/,
// and registered; if a step fails, the steps before it are undone, so
// nothing half-installed is left behind. Used by the admin service and, at
// start-up, by the daemon (LoadAll).
//
// Not thread-safe: callers serialize installs, upgrades and removals (the
// admin service holds its install lock). Blocks on the file system, and
// RemoveDriver on the driver's stop.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/install/package_loader.h"

namespace pitstop {

struct InstallerOptions {
  // CARs kept here are installed again at start-up.
  std::string drivers_dir;
  // Unpacked CARs: <packages_dir>/<name>/<version>/.
  std::string packages_dir;
  TrustPolicy trust;
};

class Installer {
 public:
  Installer(Supervisor& supervisor, InstallerOptions options)
      : supervisor_(supervisor), options_(std::move(options)) {}

  const InstallerOptions& options() const { return options_; }

  // Installs the CAR in `bytes` (sent by a client). ALREADY_EXISTS for an
  // installed name and version (its files are not touched); the CAR's own
  // errors (bad archive, signature, manifest) name it.
  absl::StatusOr<std::shared_ptr<const DriverPackage>> InstallBytes(
      const std::string& bytes, const std::vector<std::string>& grants = {});
  // Installs the CAR at `path`, a file in drivers_dir under a name LoadAll
  // ignores (a download); it is moved into place on success and left for
  // the caller to remove otherwise.
  absl::StatusOr<std::shared_ptr<const DriverPackage>> InstallFile(
      const std::string& path, const std::vector<std::string>& grants = {});

  // Removes `version` of `name`, or every version with "" (stopping the
  // driver first), files included; returns what was removed. The
  // Supervisor's errors (NOT_FOUND, FAILED_PRECONDITION) as they are.
  absl::StatusOr<std::vector<std::shared_ptr<const DriverPackage>>> Remove(
      const std::string& name, const std::string& version);

  // At start-up: drops unfinished downloads, then installs every CAR in
  // drivers_dir with its grants. One bad archive is logged and skipped; it
  // must not keep the others from running.
  void LoadAll();

 private:
  // Constant after construction
  Supervisor& supervisor_;
  const InstallerOptions options_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_INSTALL_INSTALLER_H_
