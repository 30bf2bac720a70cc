#include "supervisor/core/route_source.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/error_reason.h"
#include "supervisor/common/quoted.h"

namespace pitstop {

absl::string_view CategoryServiceName(DriverCategory category) {
  // rpc/frame_router_test.cc checks these against the descriptors.
  switch (category) {
    case DriverCategory::kStorage:
      return "pitstop.driver.v1.StorageService";
    case DriverCategory::kNetwork:
      return "pitstop.driver.v1.NetworkService";
    case DriverCategory::kHypervisor:
      return "pitstop.driver.v1.HypervisorService";
  }
  return "";
}

absl::Status CheckCallFits(const DriverManifest& m, absl::string_view driver,
                           DriverCategory category,
                           absl::string_view resource_type) {
  if (m.category != category) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "driver ", driver, " is a ", CategoryName(m.category),
                          " driver: call ", CategoryServiceName(m.category),
                          ", not ", CategoryServiceName(category))),
                      "WRONG_CATEGORY");
  }
  if (!resource_type.empty() && !m.resource_types.empty() &&
      std::find(m.resource_types.begin(), m.resource_types.end(),
                resource_type) == m.resource_types.end()) {
    return WithReason(
        absl::InvalidArgumentError(absl::StrCat(
            "driver ", driver, " has no resource type ", Quoted(resource_type),
            " (it declares: ", absl::StrJoin(m.resource_types, ", "), ")")),
        "UNKNOWN_RESOURCE_TYPE");
  }
  return absl::OkStatus();
}

}  // namespace pitstop
