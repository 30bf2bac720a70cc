#include "supervisor/cli/property_args.h"

#include "absl/strings/str_cat.h"

namespace pitstop {

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
    const std::vector<std::string>& args,
    google::protobuf::Map<std::string, dv1::PropertyValue>* properties) {
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--prop '", arg,
                       "' must be KEY=VALUE, e.g. management_vip=10.0.0.5"));
    }
    (*properties)[arg.substr(0, eq)].set_string_value(arg.substr(eq + 1));
  }
  return absl::OkStatus();
}

}  // namespace pitstop
