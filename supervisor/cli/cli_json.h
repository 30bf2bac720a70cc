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

// JSON text is stable: the same content prints byte for byte the same.
// Protobuf map fields (a Struct's fields too) iterate in an order seeded
// per map, so they are printed from a deterministic serialization, which
// sorts map entries by key; message fields keep their declared order.

// Pretty-printed JSON text, ending in a newline. Object keys are sorted.
std::string JsonText(const google::protobuf::Value& value);

enum class JsonLayout { kIndented, kOneLine };

// `message` as JSON with its proto field names and every field, indented
// or on one line. Map keys are sorted.
std::string MessageJson(const google::protobuf::Message& message,
                        JsonLayout layout);

// Left-aligned columns separated by two spaces; the first row is the header.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_CLI_JSON_H_
