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

absl::StatusOr<PropertySpec> ParseProperty(const Reader& r,
                                           const YAML::Node& node) {
  if (!node.IsMap()) return r.Error(node, "each property must be a map");
  RETURN_IF_ERROR(r.OnlyKeys(
      node, "a property",
      {"key", "label_key", "description_key", "type", "required", "max_length",
       "secret", "default", "allowed_values", "minimum", "maximum"}));
  PropertySpec p;
  p.line = node.Mark().line + 1;
  if (!node["key"]) return r.Error(node, "property without 'key'");
  ASSIGN_OR_RETURN(p.key, r.String(node["key"], "key"));
  if (p.key.empty() || !absl::ascii_isalpha(p.key[0])) {
    return r.Error(node["key"], absl::StrCat("property key '", p.key,
                                             "' must start with a letter"));
  }
  for (char c : p.key) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
      return r.Error(node["key"],
                     absl::StrCat("property key '", p.key,
                                  "' may hold only letters, digits, '_', '.' "
                                  "and '-'"));
    }
  }
  std::string field_prefix = absl::StrCat("property '", p.key, "': ");
  if (!node["type"]) {
    return r.Error(node, absl::StrCat(field_prefix,
                                      "missing 'type' (one of "
                                      "string, date, number, "
                                      "boolean)"));
  }
  ASSIGN_OR_RETURN(p.type, ParsePropertyType(r, node["type"], p.key));
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
  if (node["max_length"]) {
    if (p.type != PropertyType::kString) {
      return r.Error(node["max_length"],
                     absl::StrCat(field_prefix,
                                  "max_length applies to string properties "
                                  "only"));
    }
    ASSIGN_OR_RETURN(p.max_length, r.Count(node["max_length"], "max_length"));
  }
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
  if (node["default"]) {
    ASSIGN_OR_RETURN(p.default_value,
                     r.Scalar(node["default"], p.type, "default"));
  }
  if (node["allowed_values"]) {
    if (!node["allowed_values"].IsSequence()) {
      return r.Error(
          node["allowed_values"],
          absl::StrCat(field_prefix, "allowed_values must be a list"));
    }
    for (const YAML::Node& v : node["allowed_values"]) {
      ASSIGN_OR_RETURN(PropertyScalar s, r.Scalar(v, p.type, "allowed_values"));
      p.allowed_values.push_back(std::move(s));
    }
  }
  if (p.default_value) {
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
    if (!p.allowed_values.empty()) {
      bool found = false;
      for (const PropertyScalar& a : p.allowed_values) {
        found = found || PropertyScalarText(a) == text;
      }
      if (!found) {
        return r.Error(node["default"],
                       absl::StrCat(field_prefix, "default ", text,
                                    " is not one of allowed_values"));
      }
    }
  }
  return p;
}

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
  ASSIGN_OR_RETURN(m.name, r.String(root["name"], "name"));
  if (!IsValidDriverName(m.name)) {
    return r.Error(root["name"],
                   absl::StrCat("name '", m.name,
                                "' must be lowercase letters, digits and '-', "
                                "starting with a letter, at most 63 "
                                "characters"));
  }
  ASSIGN_OR_RETURN(std::string version, r.String(root["version"], "version"));
  auto semver = SemVer::Parse(version);
  if (!semver.ok()) {
    return r.Error(root["version"], semver.status().message());
  }
  m.version = *std::move(semver);

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
  if (root["vendor"]) {
    ASSIGN_OR_RETURN(m.vendor, r.String(root["vendor"], "vendor"));
  }
  if (root["description_key"]) {
    ASSIGN_OR_RETURN(m.description_key,
                     r.String(root["description_key"], "description_key"));
  }
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

  ASSIGN_OR_RETURN(m.entrypoint, r.String(root["entrypoint"], "entrypoint"));
  if (!absl::StartsWith(m.entrypoint, "bin/") ||
      m.entrypoint.find("..") != std::string::npos ||
      m.entrypoint.size() <= 4) {
    return r.Error(root["entrypoint"],
                   absl::StrCat("entrypoint '", m.entrypoint,
                                "' must be a file under bin/, e.g. "
                                "bin/my-driver"));
  }

  if (root["requires"]) {
    if (!root["requires"].IsSequence()) {
      return r.Error(root["requires"], "'requires' must be a list");
    }
    for (const YAML::Node& req : root["requires"]) {
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
    }
  }
  if (root["resource_types"]) {
    ASSIGN_OR_RETURN(m.resource_types,
                     r.StringList(root["resource_types"], "resource_types"));
  }
  if (root["capabilities"]) {
    ASSIGN_OR_RETURN(m.capabilities,
                     r.StringList(root["capabilities"], "capabilities"));
  }
  if (root["properties"]) {
    if (!root["properties"].IsSequence()) {
      return r.Error(root["properties"], "'properties' must be a list");
    }
    std::set<std::string> keys;
    for (const YAML::Node& node : root["properties"]) {
      ASSIGN_OR_RETURN(PropertySpec p, ParseProperty(r, node));
      if (!keys.insert(p.key).second) {
        return r.Error(
            node, absl::StrCat("property '", p.key, "' is declared twice"));
      }
      m.properties.push_back(std::move(p));
    }
  }
  if (root["allow_unknown_properties"]) {
    ASSIGN_OR_RETURN(
        m.allow_unknown_properties,
        r.Bool(root["allow_unknown_properties"], "allow_unknown_properties"));
  }
  if (const YAML::Node limits = root["limits"]) {
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
  }
  if (const YAML::Node perms = root["permissions"]) {
    if (!perms.IsMap()) return r.Error(perms, "'permissions' must be a map");
    RETURN_IF_ERROR(r.OnlyKeys(perms, "permissions", {"network"}));
    if (perms["network"]) {
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
    }
  }
  if (const YAML::Node p = root["restart"]) {
    if (!p.IsMap()) return r.Error(p, "'restart' must be a map");
    RETURN_IF_ERROR(r.OnlyKeys(
        p, "restart",
        {"max_restarts", "window", "initial_backoff", "max_backoff"}));
    if (p["max_restarts"]) {
      ASSIGN_OR_RETURN(m.restart.max_restarts,
                       r.Count(p["max_restarts"], "max_restarts"));
    }
    if (p["window"]) {
      ASSIGN_OR_RETURN(m.restart.window, r.Duration(p["window"], "window"));
    }
    if (p["initial_backoff"]) {
      ASSIGN_OR_RETURN(m.restart.initial_backoff,
                       r.Duration(p["initial_backoff"], "initial_backoff"));
    }
    if (p["max_backoff"]) {
      ASSIGN_OR_RETURN(m.restart.max_backoff,
                       r.Duration(p["max_backoff"], "max_backoff"));
    }
  }
  if (const YAML::Node t = root["timeouts"]) {
    if (!t.IsMap()) return r.Error(t, "'timeouts' must be a map");
    RETURN_IF_ERROR(
        r.OnlyKeys(t, "timeouts", {"start", "drain", "stop", "call"}));
    if (t["start"]) {
      ASSIGN_OR_RETURN(m.timeouts.start, r.Duration(t["start"], "start"));
    }
    if (t["drain"]) {
      ASSIGN_OR_RETURN(m.timeouts.drain, r.Duration(t["drain"], "drain"));
    }
    if (t["stop"]) {
      ASSIGN_OR_RETURN(m.timeouts.stop, r.Duration(t["stop"], "stop"));
    }
    if (t["call"]) {
      ASSIGN_OR_RETURN(m.timeouts.call, r.Duration(t["call"], "call"));
    }
  }
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
