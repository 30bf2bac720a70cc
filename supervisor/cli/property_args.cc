#include "supervisor/cli/property_args.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

absl::Status ParseResource(const std::string& text,
                           dv1::ResourceRef* resource) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--resource '", text, "' must be TYPE/ID, e.g. volume/v1"));
  }
  resource->set_type(text.substr(0, slash));
  resource->set_id(text.substr(slash + 1));
  return absl::OkStatus();
}

absl::Status ParseProperties(
    const std::vector<std::string>& args, const sv1::Driver& driver,
    google::protobuf::Map<std::string, dv1::PropertyValue>* properties) {
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--prop '", arg,
                       "' must be KEY=VALUE, e.g. management_vip=10.0.0.5"));
    }
    const std::string key = arg.substr(0, eq);
    const std::string value = arg.substr(eq + 1);
    const sv1::PropertySchema* schema = nullptr;
    std::vector<std::string> known;
    for (const sv1::PropertySchema& p : driver.properties()) {
      known.push_back(p.key());
      if (p.key() == key) schema = &p;
    }
    if (schema == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "driver ", driver.name(), " has no property '", key,
          "' (its properties: ",
          known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
    }
    dv1::PropertyValue& out = (*properties)[key];
    const auto bad = [&](absl::string_view expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--prop ", key, ": expected ", expected, ", got '", value, "'"));
    };
    switch (schema->type()) {
      case sv1::PROPERTY_TYPE_NUMBER: {
        double d = 0;
        if (!absl::SimpleAtod(value, &d)) return bad("a number");
        out.set_number_value(d);
        break;
      }
      case sv1::PROPERTY_TYPE_BOOLEAN:
        if (value == "true") {
          out.set_bool_value(true);
        } else if (value == "false") {
          out.set_bool_value(false);
        } else {
          return bad("true or false");
        }
        break;
      case sv1::PROPERTY_TYPE_DATE: {
        std::string text = value;
        if (text.size() == 10) text += "T00:00:00Z";
        if (!google::protobuf::util::TimeUtil::FromString(
                text, out.mutable_date_value())) {
          return bad("a date such as 2026-01-31 or 2026-01-31T12:00:00Z");
        }
        break;
      }
      default:
        out.set_string_value(value);
    }
  }
  return absl::OkStatus();
}

}  // namespace pitstop
