#ifndef PITSTOP_SUPERVISOR_SCHEMA_PROPERTY_VALIDATOR_H_
#define PITSTOP_SUPERVISOR_SCHEMA_PROPERTY_VALIDATOR_H_

// The one place a property bag is checked against a driver's schema
// (driver.yaml's `properties`), before any driver sees it. docs/properties.md
// states the rules.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pitstop/driver/v1/context.pb.h"
#include "supervisor/car/driver_manifest.h"

namespace pitstop {

using PropertyBag =
    google::protobuf::Map<std::string, pitstop::driver::v1::PropertyValue>;

struct PropertyViolation {
  std::string key;
  // required, type, max_length, minimum, maximum, allowed_values, unknown,
  // utf8.
  std::string rule;
  // What is wrong, showing the value unless the property is secret.
  std::string message;
};

struct ValidatedBag {
  // Every problem found, in schema order, then unknown keys by name.
  std::vector<PropertyViolation> violations;
  // When there is no violation: the bag the driver receives. Every declared
  // property that has a value or a default, in its declared type and
  // canonical form; undeclared keys only when the driver allows them.
  PropertyBag properties;
  // Whether `properties` differs from the input.
  bool changed = false;
};

// Checks `bag` against `manifest`. Never fails as a function: problems are
// listed in the result.
ValidatedBag ValidatePropertyBag(const DriverManifest& manifest,
                                 const PropertyBag& bag);

// INVALID_ARGUMENT listing every violation, naming the driver; OK when there
// is none.
absl::Status ViolationsStatus(const std::string& driver,
                              const std::vector<PropertyViolation>& violations);

// Replaces the value of every secret property with the string "***".
void RedactSecrets(const DriverManifest& manifest, PropertyBag* bag);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SCHEMA_PROPERTY_VALIDATOR_H_
