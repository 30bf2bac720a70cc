#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_PACKAGE_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_PACKAGE_H_

#include <string>

#include "supervisor/car/driver_manifest.h"
#include "supervisor/car/message_bundle.h"

namespace pitstop {

// One installed driver version: its unpacked CAR and what it declares.
// Immutable once loaded; shared by the supervisor and the API.
struct DriverPackage {
  DriverManifest manifest;
  std::string install_dir;  // the unpacked CAR
  MessageCatalog messages;  // resources/messages*.properties
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_PACKAGE_H_
