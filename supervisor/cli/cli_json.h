#ifndef PITSTOP_SUPERVISOR_CLI_CLI_JSON_H_
#define PITSTOP_SUPERVISOR_CLI_CLI_JSON_H_

// What `pitstop` prints: tables for people, JSON for programs.

#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

// "READY", "STOPPED", ...
std::string StateName(pitstop::supervisor::v1::DriverState state);
// "network", "storage", "hypervisor".
std::string CategoryLabel(pitstop::driver::v1::Category category);

// A driver as a JSON object: name, version, category, state, pid, restarts,
// vendor, description, message, last_exit, state_since, socket_path,
// install_dir, resource_types, capabilities, protocol_versions, properties.
google::protobuf::Value DriverToJson(
    const pitstop::supervisor::v1::Driver& driver);

// A property value as text: 100, true, "abc" shown as abc, dates RFC 3339.
std::string PropertyValueText(const pitstop::driver::v1::PropertyValue& value);

// Pretty-printed JSON text, ending in a newline.
std::string JsonText(const google::protobuf::Value& value);

// Left-aligned columns separated by two spaces; the first row is the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_CLI_JSON_H_
