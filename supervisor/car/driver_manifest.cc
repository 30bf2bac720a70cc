#include "supervisor/car/driver_manifest.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

// Turns yaml-cpp's nodes into checked values, with "file:line: " errors.
class Reader {
 public:
  explicit Reader(absl::string_view source) : source_(source) {}

  absl::Status Error(const YAML::Node& node, absl::string_view what) const {
    int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", line, ": ", what));
  }

  absl::StatusOr<std::string> String(const YAML::Node& node,
                                     absl::string_view field) const {
    if (!node.IsScalar()) {
      return Error(node, absl::StrCat("'", field, "' must be a string"));
    }
    return node.Scalar();
  }

  absl::StatusOr<bool> Bool(const YAML::Node& node,
                            absl::string_view field) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      return Error(node,
                   absl::StrCat("'", field, "' must be true or false (got '",
                                node.IsScalar() ? node.Scalar() : "?", "')"));
    }
    return value;
  }

  absl::StatusOr<uint32_t> Count(const YAML::Node& node,
                                 absl::string_view field) const {
    uint32_t value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
      return Error(
          node,
          absl::StrCat("'", field, "' must be a non-negative integer (got '",
                       node.IsScalar() ? node.Scalar() : "?", "')"));
    }
    return value;
  }

  absl::StatusOr<absl::Duration> Duration(const YAML::Node& node,
                                          absl::string_view field) const {
    absl::Duration d;
    if (!node.IsScalar() || !absl::ParseDuration(node.Scalar(), &d) ||
        d <= absl::ZeroDuration()) {
      return Error(node,
                   absl::StrCat("'", field,
                                "' must be a positive duration such as "
                                "10s or 500ms (got '",
                                node.IsScalar() ? node.Scalar() : "?", "')"));
    }
    return d;
  }

  absl::StatusOr<std::vector<std::string>> StringList(
      const YAML::Node& node, absl::string_view field) const {
    if (!node.IsSequence()) {
      return Error(node, absl::StrCat("'", field, "' must be a list"));
    }
    std::vector<std::string> out;
    for (const YAML::Node& item : node) {
      ASSIGN_OR_RETURN(std::string s, String(item, field));
      out.push_back(std::move(s));
    }
    return out;
  }

  // Rejects keys other than `allowed`, so that a typo is an error rather
  // than a silently ignored field.
  absl::Status OnlyKeys(
      const YAML::Node& map, absl::string_view what,
      std::initializer_list<absl::string_view> allowed) const {
    for (const auto& entry : map) {
      const std::string& key = entry.first.Scalar();
      bool known = false;
      for (absl::string_view a : allowed) known = known || key == a;
      if (!known) {
        return Error(
            entry.first,
            absl::StrCat("unknown field '", key, "' in ", what,
                         " (allowed: ", absl::StrJoin(allowed, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<PropertyScalar> Scalar(const YAML::Node& node,
                                        PropertyType type,
                                        absl::string_view field) const {
    if (!node.IsScalar()) {
      return Error(node, absl::StrCat("'", field, "' must be a single value"));
    }
    const std::string& text = node.Scalar();
    switch (type) {
      case PropertyType::kString:
        return PropertyScalar(text);
      case PropertyType::kNumber: {
        auto d = Decimal::Parse(text);
        if (!d.ok()) {
          return Error(node,
                       absl::StrCat("'", field, "': ", d.status().message()));
        }
        return PropertyScalar(*std::move(d));
      }
      case PropertyType::kBoolean: {
        if (text != "true" && text != "false") {
          return Error(
              node, absl::StrCat("'", field, "' must be true or false (got '",
                                 text, "')"));
        }
        return PropertyScalar(text == "true");
      }
      case PropertyType::kDate: {
        auto d = ParseIsoDate(text);
        if (!d.ok()) {
          return Error(node,
                       absl::StrCat("'", field, "': ", d.status().message()));
        }
        return PropertyScalar(*std::move(d));
      }
    }
    return Error(node, "unknown property type");
  }

 private:
  std::string source_;
};

absl::StatusOr<PropertyType> ParsePropertyType(const Reader& r,
                                               const YAML::Node& node,
                                               absl::string_view key) {
  std::string text = node.IsScalar() ? node.Scalar() : "";
  if (text == "string") return PropertyType::kString;
  if (text == "number") return PropertyType::kNumber;
  if (text == "boolean") return PropertyType::kBoolean;
  if (text == "date") return PropertyType::kDate;
  return r.Error(node, absl::StrCat("property '", key,
                                    "': type must be one of string, date, "
                                    "number, boolean (got '",
                                    text, "')"));
}

// A property's key: starts with a letter; letters, digits, '_', '.', '-'.
absl::StatusOr<std::string> ParsePropertyKey(const Reader& r,
                                             const YAML::Node& node) {
  if (!node["key"]) return r.Error(node, "property without 'key'");
  ASSIGN_OR_RETURN(std::string key, r.String(node["key"], "key"));
  if (key.empty() || !absl::ascii_isalpha(key[0])) {
    return r.Error(node["key"], absl::StrCat("property key '", key,
                                             "' must start with a letter"));
  }
  for (char c : key) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
      return r.Error(node["key"],
                     absl::StrCat("property key '", key,
                                  "' may hold only letters, digits, '_', '.' "
                                  "and '-'"));
    }
  }
  return key;
}

// label_key, description_key, required and secret: each optional.
absl::Status ParsePropertyFlags(const Reader& r, const YAML::Node& node,
                                PropertySpec& p) {
  if (node["label_key"]) {
    ASSIGN_OR_RETURN(p.label_key, r.String(node["label_key"], "label_key"));
  }
  if (node["description_key"]) {
    ASSIGN_OR_RETURN(p.description_key,
                     r.String(node["description_key"], "description_key"));
  }
  if (node["required"]) {
    ASSIGN_OR_RETURN(p.required, r.Bool(node["required"], "required"));
  }
  if (node["secret"]) {
    ASSIGN_OR_RETURN(p.secret, r.Bool(node["secret"], "secret"));
  }
  return absl::OkStatus();
}

// max_length, for a string property.
absl::Status ParseMaxLength(const Reader& r, const YAML::Node& node,
                            absl::string_view field_prefix, PropertySpec& p) {
  if (!node["max_length"]) return absl::OkStatus();
  if (p.type != PropertyType::kString) {
    return r.Error(node["max_length"],
                   absl::StrCat(field_prefix,
                                "max_length applies to string properties "
                                "only"));
  }
  ASSIGN_OR_RETURN(p.max_length, r.Count(node["max_length"], "max_length"));
  return absl::OkStatus();
}

// minimum and maximum, for a number property, in order.
absl::Status ParseBounds(const Reader& r, const YAML::Node& node,
                         absl::string_view field_prefix, PropertySpec& p) {
  for (const char* bound : {"minimum", "maximum"}) {
    if (!node[bound]) continue;
    if (p.type != PropertyType::kNumber) {
      return r.Error(node[bound], absl::StrCat(field_prefix, bound,
                                               " applies to number properties "
                                               "only"));
    }
    ASSIGN_OR_RETURN(PropertyScalar v, r.Scalar(node[bound], p.type, bound));
    (std::string(bound) == "minimum" ? p.minimum : p.maximum) =
        std::get<Decimal>(v);
  }
  if (p.minimum && p.maximum && *p.maximum < *p.minimum) {
    return r.Error(node["maximum"],
                   absl::StrCat(field_prefix, "maximum ", p.maximum->ToString(),
                                " is below minimum ", p.minimum->ToString()));
  }
  return absl::OkStatus();
}

// default and allowed_values, each of the property's type.
absl::Status ParseValues(const Reader& r, const YAML::Node& node,
                         absl::string_view field_prefix, PropertySpec& p) {
  if (node["default"]) {
    ASSIGN_OR_RETURN(p.default_value,
                     r.Scalar(node["default"], p.type, "default"));
  }
  if (!node["allowed_values"]) return absl::OkStatus();
  if (!node["allowed_values"].IsSequence()) {
    return r.Error(node["allowed_values"],
                   absl::StrCat(field_prefix, "allowed_values must be a list"));
  }
  for (const YAML::Node& v : node["allowed_values"]) {
    ASSIGN_OR_RETURN(PropertyScalar s, r.Scalar(v, p.type, "allowed_values"));
    p.allowed_values.push_back(std::move(s));
  }
  return absl::OkStatus();
}

// The default, if any, obeys max_length, minimum..maximum and
// allowed_values.
absl::Status CheckDefault(const Reader& r, const YAML::Node& node,
                          absl::string_view field_prefix,
                          const PropertySpec& p) {
  if (!p.default_value) return absl::OkStatus();
  const PropertyScalar& d = *p.default_value;
  const std::string text = PropertyScalarText(d);
  if (p.max_length && std::holds_alternative<std::string>(d) &&
      std::get<std::string>(d).size() > *p.max_length) {
    return r.Error(node["default"], absl::StrCat(field_prefix,
                                                 "default is longer than "
                                                 "max_length"));
  }
  if (const Decimal* n = std::get_if<Decimal>(&d)) {
    if ((p.minimum && *n < *p.minimum) || (p.maximum && *n > *p.maximum)) {
      return r.Error(node["default"],
                     absl::StrCat(field_prefix, "default ", text,
                                  " is outside minimum..maximum"));
    }
  }
  if (p.allowed_values.empty()) return absl::OkStatus();
  bool found = false;
  for (const PropertyScalar& a : p.allowed_values) {
    found = found || PropertyScalarText(a) == text;
  }
  if (!found) {
    return r.Error(node["default"],
                   absl::StrCat(field_prefix, "default ", text,
                                " is not one of allowed_values"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PropertySpec> ParseProperty(const Reader& r,
                                           const YAML::Node& node) {
  if (!node.IsMap()) return r.Error(node, "each property must be a map");
  RETURN_IF_ERROR(r.OnlyKeys(
      node, "a property",
      {"key", "label_key", "description_key", "type", "required", "max_length",
       "secret", "default", "allowed_values", "minimum", "maximum"}));
  PropertySpec p;
  p.line = node.Mark().line + 1;
  ASSIGN_OR_RETURN(p.key, ParsePropertyKey(r, node));
  const std::string field_prefix = absl::StrCat("property '", p.key, "': ");
  if (!node["type"]) {
    return r.Error(node, absl::StrCat(field_prefix,
                                      "missing 'type' (one of "
                                      "string, date, number, "
                                      "boolean)"));
  }
  ASSIGN_OR_RETURN(p.type, ParsePropertyType(r, node["type"], p.key));
  // In this order: the first problem found is the one reported.
  RETURN_IF_ERROR(ParsePropertyFlags(r, node, p));
  RETURN_IF_ERROR(ParseMaxLength(r, node, field_prefix, p));
  RETURN_IF_ERROR(ParseBounds(r, node, field_prefix, p));
  RETURN_IF_ERROR(ParseValues(r, node, field_prefix, p));
  RETURN_IF_ERROR(CheckDefault(r, node, field_prefix, p));
  return p;
}

// The parsers of driver.yaml's top-level fields, each of one field or group.
// Each gets the whole document, since some errors point at it.
using RootFieldParser = absl::Status (*)(const Reader& r,
                                         const YAML::Node& root,
                                         DriverManifest& m);

absl::Status ParseName(const Reader& r, const YAML::Node& root,
                       DriverManifest& m) {
  ASSIGN_OR_RETURN(m.name, r.String(root["name"], "name"));
  if (!IsValidDriverName(m.name)) {
    return r.Error(root["name"],
                   absl::StrCat("name '", m.name,
                                "' must be lowercase letters, digits and '-', "
                                "starting with a letter, at most 63 "
                                "characters"));
  }
  return absl::OkStatus();
}

absl::Status ParseVersion(const Reader& r, const YAML::Node& root,
                          DriverManifest& m) {
  ASSIGN_OR_RETURN(std::string version, r.String(root["version"], "version"));
  auto semver = SemVer::Parse(version);
  if (!semver.ok()) {
    return r.Error(root["version"], semver.status().message());
  }
  m.version = *std::move(semver);
  return absl::OkStatus();
}

absl::Status ParseCategory(const Reader& r, const YAML::Node& root,
                           DriverManifest& m) {
  ASSIGN_OR_RETURN(std::string category,
                   r.String(root["category"], "category"));
  if (category == "network") {
    m.category = DriverCategory::kNetwork;
  } else if (category == "storage") {
    m.category = DriverCategory::kStorage;
  } else if (category == "hypervisor") {
    m.category = DriverCategory::kHypervisor;
  } else {
    return r.Error(root["category"],
                   absl::StrCat("category must be one of network, storage, "
                                "hypervisor (got '",
                                category, "')"));
  }
  return absl::OkStatus();
}

// vendor and description_key, each optional.
absl::Status ParseTexts(const Reader& r, const YAML::Node& root,
                        DriverManifest& m) {
  if (root["vendor"]) {
    ASSIGN_OR_RETURN(m.vendor, r.String(root["vendor"], "vendor"));
  }
  if (root["description_key"]) {
    ASSIGN_OR_RETURN(m.description_key,
                     r.String(root["description_key"], "description_key"));
  }
  return absl::OkStatus();
}

// Defaults to [v1]; must include v1.
absl::Status ParseProtocol(const Reader& r, const YAML::Node& root,
                           DriverManifest& m) {
  if (root["protocol"]) {
    ASSIGN_OR_RETURN(m.protocol, r.StringList(root["protocol"], "protocol"));
  } else {
    m.protocol = {"v1"};
  }
  if (std::find(m.protocol.begin(), m.protocol.end(), "v1") ==
      m.protocol.end()) {
    return r.Error(root["protocol"] ? root["protocol"] : root,
                   "protocol must include v1, the only protocol this daemon "
                   "speaks");
  }
  return absl::OkStatus();
}

absl::Status ParseEntrypoint(const Reader& r, const YAML::Node& root,
                             DriverManifest& m) {
  ASSIGN_OR_RETURN(m.entrypoint, r.String(root["entrypoint"], "entrypoint"));
  if (!absl::StartsWith(m.entrypoint, "bin/") ||
      m.entrypoint.find("..") != std::string::npos ||
      m.entrypoint.size() <= 4) {
    return r.Error(root["entrypoint"],
                   absl::StrCat("entrypoint '", m.entrypoint,
                                "' must be a file under bin/, e.g. "
                                "bin/my-driver"));
  }
  return absl::OkStatus();
}

// One item of 'requires': a name other than the driver's own, and a version
// range (any version if none).
absl::Status ParseRequirement(const Reader& r, const YAML::Node& req,
                              DriverManifest& m) {
  RETURN_IF_ERROR(r.OnlyKeys(req, "a requirement", {"name", "version"}));
  if (!req["name"]) return r.Error(req, "requirement without 'name'");
  ASSIGN_OR_RETURN(std::string name, r.String(req["name"], "name"));
  if (name == m.name) {
    return r.Error(req["name"], "a driver cannot require itself");
  }
  std::string range_text = ">=0.0.0";
  if (req["version"]) {
    ASSIGN_OR_RETURN(range_text, r.String(req["version"], "version"));
  }
  auto range = VersionRange::Parse(range_text);
  if (!range.ok()) return r.Error(req["version"], range.status().message());
  m.requires_.push_back({std::move(name), *std::move(range)});
  return absl::OkStatus();
}

absl::Status ParseRequires(const Reader& r, const YAML::Node& root,
                           DriverManifest& m) {
  if (!root["requires"]) return absl::OkStatus();
  if (!root["requires"].IsSequence()) {
    return r.Error(root["requires"], "'requires' must be a list");
  }
  for (const YAML::Node& req : root["requires"]) {
    RETURN_IF_ERROR(ParseRequirement(r, req, m));
  }
  return absl::OkStatus();
}

// resource_types and capabilities, each optional.
absl::Status ParseLists(const Reader& r, const YAML::Node& root,
                        DriverManifest& m) {
  if (root["resource_types"]) {
    ASSIGN_OR_RETURN(m.resource_types,
                     r.StringList(root["resource_types"], "resource_types"));
  }
  if (root["capabilities"]) {
    ASSIGN_OR_RETURN(m.capabilities,
                     r.StringList(root["capabilities"], "capabilities"));
  }
  return absl::OkStatus();
}

// Each key declared once.
absl::Status ParseProperties(const Reader& r, const YAML::Node& root,
                             DriverManifest& m) {
  if (!root["properties"]) return absl::OkStatus();
  if (!root["properties"].IsSequence()) {
    return r.Error(root["properties"], "'properties' must be a list");
  }
  std::set<std::string> keys;
  for (const YAML::Node& node : root["properties"]) {
    ASSIGN_OR_RETURN(PropertySpec p, ParseProperty(r, node));
    if (!keys.insert(p.key).second) {
      return r.Error(node,
                     absl::StrCat("property '", p.key, "' is declared twice"));
    }
    m.properties.push_back(std::move(p));
  }
  return absl::OkStatus();
}

absl::Status ParseAllowUnknownProperties(const Reader& r,
                                         const YAML::Node& root,
                                         DriverManifest& m) {
  if (root["allow_unknown_properties"]) {
    ASSIGN_OR_RETURN(
        m.allow_unknown_properties,
        r.Bool(root["allow_unknown_properties"], "allow_unknown_properties"));
  }
  return absl::OkStatus();
}

absl::Status ParseLimits(const Reader& r, const YAML::Node& root,
                         DriverManifest& m) {
  const YAML::Node limits = root["limits"];
  if (!limits) return absl::OkStatus();
  if (!limits.IsMap()) return r.Error(limits, "'limits' must be a map");
  RETURN_IF_ERROR(
      r.OnlyKeys(limits, "limits", {"memory_mb", "pids", "open_files"}));
  // Each limit is a positive number: a driver cannot ask for "none".
  for (auto [key, target] :
       {std::pair<const char*, uint32_t*>{"memory_mb", &m.limits.memory_mb},
        {"pids", &m.limits.pids},
        {"open_files", &m.limits.open_files}}) {
    if (!limits[key]) continue;
    ASSIGN_OR_RETURN(*target, r.Count(limits[key], key));
    if (*target == 0) {
      return r.Error(limits[key],
                     absl::StrCat("limits.", key,
                                  " must be at least 1 (0 would mean no "
                                  "limit; the operator's maxima cap it)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParsePermissions(const Reader& r, const YAML::Node& root,
                              DriverManifest& m) {
  const YAML::Node perms = root["permissions"];
  if (!perms) return absl::OkStatus();
  if (!perms.IsMap()) return r.Error(perms, "'permissions' must be a map");
  RETURN_IF_ERROR(r.OnlyKeys(perms, "permissions", {"network"}));
  if (!perms["network"]) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string net, r.String(perms["network"], "network"));
  if (net == "none") {
    m.network = NetworkPermission::kNone;
  } else if (net == "outbound") {
    m.network = NetworkPermission::kOutbound;
  } else {
    return r.Error(perms["network"],
                   absl::StrCat("permissions.network must be none or "
                                "outbound (got '",
                                net, "')"));
  }
  return absl::OkStatus();
}

// The optional durations of `map`, read in the order given; `Target` is
// absl::Duration or std::optional of it.
template <typename Target>
absl::Status ParseDurations(
    const Reader& r, const YAML::Node& map,
    std::initializer_list<std::pair<const char*, Target*>> fields) {
  for (auto [key, target] : fields) {
    if (map[key]) {
      ASSIGN_OR_RETURN(*target, r.Duration(map[key], key));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseRestart(const Reader& r, const YAML::Node& root,
                          DriverManifest& m) {
  const YAML::Node p = root["restart"];
  if (!p) return absl::OkStatus();
  if (!p.IsMap()) return r.Error(p, "'restart' must be a map");
  RETURN_IF_ERROR(
      r.OnlyKeys(p, "restart",
                 {"max_restarts", "window", "initial_backoff", "max_backoff"}));
  if (p["max_restarts"]) {
    ASSIGN_OR_RETURN(m.restart.max_restarts,
                     r.Count(p["max_restarts"], "max_restarts"));
  }
  return ParseDurations<std::optional<absl::Duration>>(
      r, p,
      {{"window", &m.restart.window},
       {"initial_backoff", &m.restart.initial_backoff},
       {"max_backoff", &m.restart.max_backoff}});
}

absl::Status ParseTimeouts(const Reader& r, const YAML::Node& root,
                           DriverManifest& m) {
  const YAML::Node t = root["timeouts"];
  if (!t) return absl::OkStatus();
  if (!t.IsMap()) return r.Error(t, "'timeouts' must be a map");
  RETURN_IF_ERROR(
      r.OnlyKeys(t, "timeouts", {"start", "drain", "stop", "call"}));
  return ParseDurations<absl::Duration>(r, t,
                                        {{"start", &m.timeouts.start},
                                         {"drain", &m.timeouts.drain},
                                         {"stop", &m.timeouts.stop},
                                         {"call", &m.timeouts.call}});
}

// In this order: the first problem found is the one reported.
constexpr RootFieldParser kRootFields[] = {
    ParseName,       ParseVersion,
    ParseCategory,   ParseTexts,
    ParseProtocol,   ParseEntrypoint,
    ParseRequires,   ParseLists,
    ParseProperties, ParseAllowUnknownProperties,
    ParseLimits,     ParsePermissions,
    ParseRestart,    ParseTimeouts,
};

absl::StatusOr<DriverManifest> ParseRoot(const Reader& r,
                                         const YAML::Node& root) {
  if (!root.IsMap()) return r.Error(root, "driver.yaml must be a map");
  RETURN_IF_ERROR(
      r.OnlyKeys(root, "driver.yaml",
                 {"name", "version", "category", "vendor", "description_key",
                  "protocol", "entrypoint", "requires", "resource_types",
                  "capabilities", "properties", "allow_unknown_properties",
                  "limits", "permissions", "timeouts", "restart"}));
  for (const char* required : {"name", "version", "category", "entrypoint"}) {
    if (!root[required]) {
      return r.Error(root,
                     absl::StrCat("missing required field '", required, "'"));
    }
  }
  DriverManifest m;
  for (RootFieldParser parse : kRootFields) RETURN_IF_ERROR(parse(r, root, m));
  return m;
}

}  // namespace

absl::string_view CategoryName(DriverCategory category) {
  switch (category) {
    case DriverCategory::kNetwork:
      return "network";
    case DriverCategory::kStorage:
      return "storage";
    case DriverCategory::kHypervisor:
      return "hypervisor";
  }
  return "unknown";
}

int StartLevel(DriverCategory category) {
  switch (category) {
    case DriverCategory::kNetwork:
      return 0;
    case DriverCategory::kStorage:
      return 1;
    case DriverCategory::kHypervisor:
      return 2;
  }
  return 3;
}

absl::string_view PropertyTypeName(PropertyType type) {
  switch (type) {
    case PropertyType::kString:
      return "string";
    case PropertyType::kNumber:
      return "number";
    case PropertyType::kBoolean:
      return "boolean";
    case PropertyType::kDate:
      return "date";
  }
  return "unknown";
}

std::string PropertyScalarText(const PropertyScalar& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* d = std::get_if<Decimal>(&value)) return d->ToString();
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  return std::get<IsoDate>(value).canonical;
}

bool IsValidDriverName(absl::string_view name) {
  if (name.empty() || name.size() > 63 || !absl::ascii_islower(name[0])) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return false;
    }
  }
  return name.back() != '-';
}

absl::StatusOr<DriverManifest> ParseDriverManifest(absl::string_view yaml,
                                                   absl::string_view source) {
  Reader reader(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
  try {
    return ParseRoot(reader, root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": ", e.msg));
  }
}

absl::StatusOr<DriverManifest> LoadDriverManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": no such file or not readable"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseDriverManifest(text.str(), path);
}

}  // namespace pitstop
