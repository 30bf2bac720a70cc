#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_PACKAGE_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_PACKAGE_H_

#include <string>
#include <vector>

#include "supervisor/car/driver_manifest.h"
#include "supervisor/car/message_bundle.h"

namespace pitstop {

// One installed driver version: its unpacked CAR and what it declares.
// Immutable once loaded; shared by the supervisor and the API.
struct DriverPackage {
  DriverManifest manifest;
  std::string install_dir;  // the unpacked CAR
  MessageCatalog messages;  // resources/messages*.properties
  // The verified signer ("" when the CAR is unsigned and the policy
  // allows it).
  std::string signer;
  // SHA-256 (hex) of the entrypoint when installed: checked again before
  // every start, so a binary changed on disk never runs.
  std::string entrypoint_sha256;
  // The CAR it was installed from, kept in the drivers directory so that the
  // daemon loads it again after a restart.
  std::string car_path;
  // Permissions the operator granted at install, e.g. "network=outbound"
  // (kept beside the CAR as <car>.grants).
  std::vector<std::string> grants;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_PACKAGE_H_
