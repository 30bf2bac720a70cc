#ifndef PITSTOP_SUPERVISOR_CAR_DRIVER_MANIFEST_H_
#define PITSTOP_SUPERVISOR_CAR_DRIVER_MANIFEST_H_

// META-INF/driver.yaml: who a driver is, how to run it, and its property
// schema. docs/car-format.md documents every field.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/car/semver.h"
#include "supervisor/common/decimal.h"
#include "supervisor/common/iso_date.h"

namespace pitstop {

enum class DriverCategory { kNetwork, kStorage, kHypervisor };

// "network", "storage", "hypervisor".
absl::string_view CategoryName(DriverCategory category);

// Start level: network (0) starts first, hypervisor (2) last.
int StartLevel(DriverCategory category);

enum class PropertyType { kString, kNumber, kBoolean, kDate };

absl::string_view PropertyTypeName(PropertyType type);

// A typed property value: string, number (exact decimal), boolean, date.
using PropertyScalar = std::variant<std::string, Decimal, bool, IsoDate>;

// The canonical text of a value: "abc", "1500", "true", "2026-01-31".
std::string PropertyScalarText(const PropertyScalar& value);

struct PropertySpec {
  std::string key;
  std::string label_key;
  std::string description_key;
  PropertyType type = PropertyType::kString;
  bool required = false;
  std::optional<uint32_t> max_length;
  bool secret = false;
  std::optional<PropertyScalar> default_value;
  std::vector<PropertyScalar> allowed_values;
  // Inclusive bounds, numbers only.
  std::optional<Decimal> minimum;
  std::optional<Decimal> maximum;
  int line = 0;  // In driver.yaml, for error messages.
};

struct DriverRequirement {
  std::string name;
  VersionRange versions;
};

struct DriverLimits {
  uint32_t memory_mb = 256;
  uint32_t pids = 64;
  uint32_t open_files = 256;
};

enum class NetworkPermission { kNone, kOutbound };

struct DriverTimeouts {
  absl::Duration start = absl::Seconds(10);
  absl::Duration drain = absl::Seconds(30);
  absl::Duration stop = absl::Seconds(5);
  // The longest a single call may run: a caller's longer deadline is cut
  // to this.
  absl::Duration call = absl::Seconds(60);
};

// A driver's own restart policy; each field overrides the daemon's within
// the operator's limits (see docs/lifecycle.md).
struct DriverRestartPolicy {
  std::optional<uint32_t> max_restarts;
  std::optional<absl::Duration> window;
  std::optional<absl::Duration> initial_backoff;
  std::optional<absl::Duration> max_backoff;
};

struct DriverManifest {
  std::string name;
  SemVer version;
  DriverCategory category = DriverCategory::kStorage;
  std::string vendor;
  std::string description_key;
  std::vector<std::string> protocol;  // e.g. {"v1"}
  std::string entrypoint;             // relative, under bin/
  std::vector<DriverRequirement> requires_;
  std::vector<std::string> resource_types;
  std::vector<std::string> capabilities;
  std::vector<PropertySpec> properties;
  // Accept bag keys the schema does not declare (forward compatibility)
  // instead of refusing them.
  bool allow_unknown_properties = false;
  DriverLimits limits;
  NetworkPermission network = NetworkPermission::kNone;
  DriverTimeouts timeouts;
  DriverRestartPolicy restart;
};

// Parses and validates driver.yaml text. `source` names the file in errors,
// which are INVALID_ARGUMENT and read like
//   "META-INF/driver.yaml:14: property 'max_iops': type must be one of
//    string, date, number, boolean (got 'int')".
absl::StatusOr<DriverManifest> ParseDriverManifest(absl::string_view yaml,
                                                   absl::string_view source);

// Reads and parses a driver.yaml file.
absl::StatusOr<DriverManifest> LoadDriverManifest(const std::string& path);

// True for lowercase letters, digits and '-', starting with a letter, at
// most 63 characters.
bool IsValidDriverName(absl::string_view name);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_DRIVER_MANIFEST_H_
