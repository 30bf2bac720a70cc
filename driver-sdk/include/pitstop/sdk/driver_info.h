#ifndef PITSTOP_SDK_DRIVER_INFO_H_
#define PITSTOP_SDK_DRIVER_INFO_H_

// The part of META-INF/driver.yaml a running driver needs about itself: what
// IdentityService.GetInfo answers, and how long a graceful stop may take.
// Every other driver.yaml key (properties, limits, permissions...) is the
// daemon's business and is ignored here.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pitstop/driver/v1/identity.pb.h"

namespace pitstop::sdk {

struct DriverInfo {
  std::string name;
  std::string version;
  pitstop::driver::v1::Category category =
      pitstop::driver::v1::CATEGORY_UNSPECIFIED;
  std::string vendor;                          // May be empty.
  std::vector<std::string> protocol_versions;  // driver.yaml `protocol`.
  std::vector<std::string> capabilities;       // May be empty.
  // driver.yaml `timeouts.stop`: how long the daemon waits after SIGTERM
  // before it kills the driver.
  absl::Duration stop_timeout = absl::Seconds(5);
};

// Parses driver.yaml text. Requires `name`, `version`, `category` (storage,
// network or hypervisor) and `protocol` (a non-empty list); `vendor`,
// `capabilities` and `timeouts.stop` (an Abseil duration such as "5s" or
// "500ms") are optional. Unknown keys are ignored. Errors are
// INVALID_ARGUMENT and name `source` and the line, e.g.
//   "META-INF/driver.yaml:3: 'category' must be one of storage, network,
//    hypervisor (got 'disk')".
absl::StatusOr<DriverInfo> ParseDriverInfo(absl::string_view yaml,
                                           absl::string_view source);

// Reads and parses a driver.yaml file. NOT_FOUND if it cannot be read.
absl::StatusOr<DriverInfo> LoadDriverInfo(const std::string& path);

// The GetInfo answer for `info`.
pitstop::driver::v1::GetInfoResponse ToGetInfoResponse(const DriverInfo& info);

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_DRIVER_INFO_H_
