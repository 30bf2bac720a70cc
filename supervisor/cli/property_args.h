#ifndef PITSTOP_SUPERVISOR_CLI_PROPERTY_ARGS_H_
#define PITSTOP_SUPERVISOR_CLI_PROPERTY_ARGS_H_

// Turns the CLI's `--prop KEY=VALUE` and `--resource TYPE/ID` arguments into
// the typed values of a CallContext, using the driver's property schema.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pitstop/driver/v1/context.pb.h"

namespace pitstop {

// "volume/v1" -> {type: volume, id: v1}. INVALID_ARGUMENT otherwise.
absl::Status ParseResource(const std::string& text,
                           pitstop::driver::v1::ResourceRef* resource);

// Adds each KEY=VALUE to `properties` as text (string_value): the daemon
// checks it against the driver's schema and converts it to the declared
// type. INVALID_ARGUMENT for an argument without '='.
absl::Status ParseProperties(
    const std::vector<std::string>& args,
    google::protobuf::Map<std::string, pitstop::driver::v1::PropertyValue>*
        properties);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_PROPERTY_ARGS_H_
