#include "supervisor/cli/cli_json.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
using google::protobuf::Value;

namespace {

std::string WithoutPrefix(const std::string& s, absl::string_view prefix) {
  return absl::StartsWith(s, prefix) ? s.substr(prefix.size()) : s;
}

}  // namespace

std::string StateName(sv1::DriverState state) {
  return WithoutPrefix(sv1::DriverState_Name(state), "DRIVER_STATE_");
}

std::string CategoryLabel(dv1::Category category) {
  return absl::AsciiStrToLower(
      WithoutPrefix(dv1::Category_Name(category), "CATEGORY_"));
}

namespace {

Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value Num(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value StrList(const google::protobuf::RepeatedPtrField<std::string>& items) {
  Value v;
  auto* list = v.mutable_list_value();
  for (const std::string& s : items) *list->add_values() = Str(s);
  return v;
}

Value PropertyValueJson(const dv1::PropertyValue& p) {
  Value v;
  switch (p.value_case()) {
    case dv1::PropertyValue::kStringValue:
      v.set_string_value(p.string_value());
      break;
    case dv1::PropertyValue::kNumberValue: {
      // Exact text becomes a JSON number when a double holds it exactly
      // enough for display; the text itself is what the driver receives.
      double d = 0;
      if (absl::SimpleAtod(p.number_value(), &d)) {
        v.set_number_value(d);
      } else {
        v.set_string_value(p.number_value());
      }
      break;
    }
    case dv1::PropertyValue::kBoolValue:
      v.set_bool_value(p.bool_value());
      break;
    case dv1::PropertyValue::kDateValue:
      v.set_string_value(p.date_value());
      break;
    default:
      v.set_null_value(google::protobuf::NULL_VALUE);
  }
  return v;
}

Value SandboxJson(const sv1::SandboxProtections& sb) {
  Value sandbox;
  auto& sf = *sandbox.mutable_struct_value()->mutable_fields();
  sf["mode"] = Str(sb.mode().empty() ? "off" : sb.mode());
  sf["namespaces"] = StrList(sb.namespaces());
  sf["private_root"].set_bool_value(sb.private_root());
  sf["uid"] = Num(sb.uid());
  sf["gid"] = Num(sb.gid());
  sf["no_new_privs"].set_bool_value(sb.no_new_privs());
  sf["capabilities_dropped"].set_bool_value(sb.capabilities_dropped());
  sf["seccomp"].set_bool_value(sb.seccomp());
  sf["cgroup"] = Str(sb.cgroup());
  sf["memory_limit_bytes"] = Num(sb.memory_limit_bytes());
  sf["pids_limit"] = Num(sb.pids_limit());
  sf["rlimits"] = StrList(sb.rlimits());
  sf["network"] = Str(sb.network());
  sf["gaps"] = StrList(sb.gaps());
  return sandbox;
}

}  // namespace

Value DriverToJson(const sv1::Driver& d) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["name"] = Str(d.name());
  f["version"] = Str(d.version());
  f["category"] = Str(CategoryLabel(d.category()));
  f["state"] = Str(StateName(d.state()));
  f["pid"] = Num(d.pid());
  f["restarts"] = Num(d.restarts());
  f["vendor"] = Str(d.vendor());
  f["description"] = Str(d.description());
  f["message"] = Str(d.message());
  f["last_exit"] = Str(d.last_exit());
  f["state_since"] =
      Str(google::protobuf::util::TimeUtil::ToString(d.state_since()));
  f["socket_path"] = Str(d.socket_path());
  f["install_dir"] = Str(d.install_dir());
  f["signer"] = Str(d.signer());
  f["resource_types"] = StrList(d.resource_types());
  f["capabilities"] = StrList(d.capabilities());
  f["protocol_versions"] = StrList(d.protocol_versions());
  Value props;
  auto* list = props.mutable_list_value();
  for (const sv1::PropertySchema& p : d.properties()) {
    Value pv;
    auto& pf = *pv.mutable_struct_value()->mutable_fields();
    pf["key"] = Str(p.key());
    pf["type"] = Str(absl::AsciiStrToLower(
        WithoutPrefix(sv1::PropertyType_Name(p.type()), "PROPERTY_TYPE_")));
    pf["required"].set_bool_value(p.required());
    pf["secret"].set_bool_value(p.secret());
    if (p.max_length() > 0) pf["max_length"] = Num(p.max_length());
    if (!p.minimum().empty()) pf["minimum"] = Str(p.minimum());
    if (!p.maximum().empty()) pf["maximum"] = Str(p.maximum());
    if (p.has_default_value())
      pf["default"] = PropertyValueJson(p.default_value());
    if (p.allowed_values_size() > 0) {
      auto* allowed = pf["allowed_values"].mutable_list_value();
      for (const auto& a : p.allowed_values()) {
        *allowed->add_values() = PropertyValueJson(a);
      }
    }
    pf["label"] = Str(p.label());
    pf["description"] = Str(p.description());
    *list->add_values() = pv;
  }
  f["properties"] = props;
  f["allow_unknown_properties"].set_bool_value(d.allow_unknown_properties());
  f["grants"] = StrList(d.grants());
  f["sandbox"] = SandboxJson(d.sandbox());
  f["installed_versions"] = StrList(d.installed_versions());
  f["previous_version"] = Str(d.previous_version());
  f["upgrade"] = Str(d.upgrade());
  Value instances;
  auto* ilist = instances.mutable_list_value();
  for (const sv1::Instance& i : d.instances()) {
    Value iv;
    auto& fi = *iv.mutable_struct_value()->mutable_fields();
    fi["id"] = Num(static_cast<double>(i.id()));
    fi["pid"] = Num(i.pid());
    fi["version"] = Str(i.version());
    fi["role"] = Str(i.role());
    fi["calls_in_flight"] = Num(i.calls_in_flight());
    fi["sandbox"] = SandboxJson(i.sandbox());
    *ilist->add_values() = iv;
  }
  f["instances"] = instances;
  return v;
}

namespace {

// MessageToJsonString serializes with map entries in iteration order, which
// differs from one map to the next: serialize deterministically instead.
std::string StableJson(
    const google::protobuf::Message& message,
    const google::protobuf::util::JsonPrintOptions& options) {
  constexpr char kTypeUrlPrefix[] = "type.googleapis.com";
  std::string wire;
  {
    google::protobuf::io::StringOutputStream stream(&wire);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (void)message.SerializeToCodedStream(&coded);
  }
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          kTypeUrlPrefix, message.GetDescriptor()->file()->pool()));
  std::string out;
  (void)google::protobuf::util::BinaryToJsonString(
      resolver.get(),
      absl::StrCat(kTypeUrlPrefix, "/", message.GetDescriptor()->full_name()),
      wire, &out, options);
  return out;
}

}  // namespace

std::string PropertyValueText(const dv1::PropertyValue& value) {
  Value v = PropertyValueJson(value);
  if (v.has_string_value()) return v.string_value();
  return StableJson(v, {});
}

std::string JsonText(const Value& value) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  return StableJson(value, options);
}

std::string MessageJson(const google::protobuf::Message& message,
                        JsonLayout layout) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = layout == JsonLayout::kIndented;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  return StableJson(message, options);
}

namespace {

// The columns `text` takes on a terminal: its UTF-8 code points (a driver's
// message or a label may be in any language; "µs" is two bytes).
size_t Width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size());
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - Width(row[i]) + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace pitstop
