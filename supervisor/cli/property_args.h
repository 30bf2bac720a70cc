#ifndef PITSTOP_SUPERVISOR_CLI_PROPERTY_ARGS_H_
#define PITSTOP_SUPERVISOR_CLI_PROPERTY_ARGS_H_

// Turns the CLI's `--prop KEY=VALUE` and `--resource TYPE/ID` arguments into
// the typed values of a CallContext, using the driver's property schema.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pitstop/driver/v1/context.pb.h"
#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

// "volume/v1" -> {type: volume, id: v1}. INVALID_ARGUMENT otherwise.
absl::Status ParseResource(const std::string& text,
                           pitstop::driver::v1::ResourceRef* resource);

// Adds each KEY=VALUE to `properties`, typed by the schema in `driver`:
// numbers, booleans (true/false) and dates (2026-01-31 or RFC 3339).
// INVALID_ARGUMENT naming the key for an unknown key or a bad value.
absl::Status ParseProperties(
    const std::vector<std::string>& args,
    const pitstop::supervisor::v1::Driver& driver,
    google::protobuf::Map<std::string, pitstop::driver::v1::PropertyValue>*
        properties);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_PROPERTY_ARGS_H_
