#include "pitstop/sdk/driver_info.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "yaml-cpp/yaml.h"

namespace pitstop::sdk {
namespace {

using ::pitstop::driver::v1::Category;

// Builds INVALID_ARGUMENT errors that name the file and line of a node.
class Reader {
 public:
  explicit Reader(absl::string_view source) : source_(source) {}

  absl::Status Error(const YAML::Node& node, absl::string_view what) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(source_, ": ", what));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", mark.line + 1, ": ", what));
  }

  absl::StatusOr<std::string> RequiredString(const YAML::Node& root,
                                             const char* key) const {
    const YAML::Node node = root[key];
    if (!node) {
      return Error(root, absl::StrCat("'", key, "' is required"));
    }
    return String(node, key);
  }

  absl::StatusOr<std::string> String(const YAML::Node& node,
                                     absl::string_view key) const {
    if (!node.IsScalar() || node.Scalar().empty()) {
      return Error(node,
                   absl::StrCat("'", key, "' must be a non-empty string"));
    }
    return node.Scalar();
  }

  absl::StatusOr<std::vector<std::string>> StringList(
      const YAML::Node& node, absl::string_view key) const {
    if (!node.IsSequence()) {
      return Error(node, absl::StrCat("'", key, "' must be a list, e.g. [v1]"));
    }
    std::vector<std::string> out;
    for (const YAML::Node& item : node) {
      absl::StatusOr<std::string> s = String(item, key);
      if (!s.ok()) return s.status();
      out.push_back(*std::move(s));
    }
    return out;
  }

 private:
  std::string source_;
};

absl::StatusOr<DriverInfo> ParseRoot(const YAML::Node& root, const Reader& r) {
  if (!root.IsMap()) {
    return r.Error(root, "driver.yaml must be a map of keys to values");
  }
  DriverInfo info;
  absl::StatusOr<std::string> s = r.RequiredString(root, "name");
  if (!s.ok()) return s.status();
  info.name = *std::move(s);

  s = r.RequiredString(root, "version");
  if (!s.ok()) return s.status();
  info.version = *std::move(s);

  s = r.RequiredString(root, "category");
  if (!s.ok()) return s.status();
  if (*s == "storage") {
    info.category = Category::CATEGORY_STORAGE;
  } else if (*s == "network") {
    info.category = Category::CATEGORY_NETWORK;
  } else if (*s == "hypervisor") {
    info.category = Category::CATEGORY_HYPERVISOR;
  } else {
    return r.Error(root["category"],
                   absl::StrCat("'category' must be one of storage, network, "
                                "hypervisor (got '",
                                *s, "')"));
  }

  if (const YAML::Node vendor = root["vendor"]) {
    s = r.String(vendor, "vendor");
    if (!s.ok()) return s.status();
    info.vendor = *std::move(s);
  }

  const YAML::Node protocol = root["protocol"];
  if (!protocol) return r.Error(root, "'protocol' is required, e.g. [v1]");
  absl::StatusOr<std::vector<std::string>> list =
      r.StringList(protocol, "protocol");
  if (!list.ok()) return list.status();
  if (list->empty()) {
    return r.Error(protocol, "'protocol' must name at least one version");
  }
  info.protocol_versions = *std::move(list);

  if (const YAML::Node caps = root["capabilities"]) {
    list = r.StringList(caps, "capabilities");
    if (!list.ok()) return list.status();
    info.capabilities = *std::move(list);
  }

  if (const YAML::Node timeouts = root["timeouts"]) {
    if (!timeouts.IsMap()) {
      return r.Error(timeouts, "'timeouts' must be a map, e.g. {stop: 5s}");
    }
    if (const YAML::Node stop = timeouts["stop"]) {
      absl::Duration d;
      if (!stop.IsScalar() || !absl::ParseDuration(stop.Scalar(), &d) ||
          d <= absl::ZeroDuration()) {
        return r.Error(
            stop, absl::StrCat("'timeouts.stop' must be a positive "
                               "duration such as 5s or 500ms (got '",
                               stop.IsScalar() ? stop.Scalar() : "", "')"));
      }
      info.stop_timeout = d;
    }
  }
  return info;
}

}  // namespace

absl::StatusOr<DriverInfo> ParseDriverInfo(absl::string_view yaml,
                                           absl::string_view source) {
  Reader r(source);
  try {
    return ParseRoot(YAML::Load(std::string(yaml)), r);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": not valid YAML: ", e.msg));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
}

absl::StatusOr<DriverInfo> LoadDriverInfo(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read driver.yaml at ", path,
                     ": pass --manifest PATH or set PITSTOP_DRIVER_ROOT"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseDriverInfo(text.str(), path);
}

pitstop::driver::v1::GetInfoResponse ToGetInfoResponse(const DriverInfo& info) {
  pitstop::driver::v1::GetInfoResponse out;
  out.set_name(info.name);
  out.set_version(info.version);
  out.set_category(info.category);
  for (const std::string& v : info.protocol_versions) {
    out.add_protocol_versions(v);
  }
  for (const std::string& c : info.capabilities) out.add_capabilities(c);
  out.set_vendor(info.vendor);
  return out;
}

}  // namespace pitstop::sdk
