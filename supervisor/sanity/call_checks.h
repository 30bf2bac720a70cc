#ifndef PITSTOP_SUPERVISOR_SANITY_CALL_CHECKS_H_
#define PITSTOP_SUPERVISOR_SANITY_CALL_CHECKS_H_

// pitstop-sanity's checks of routed calls (docs/vendor-guide.md, "Checking
// a driver with pitstop-sanity"): every method answers, the capabilities
// the driver declares are implemented, operation ids are honoured, unknown
// resource types are refused, and large requests are taken.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "supervisor/sanity/sanity_checks.h"

namespace pitstop {

// The methods a CloudStack capability name promises (e.g. LIVE_MIGRATION:
// MigrateVm); empty for a name that promises none in particular.
std::vector<std::string> MethodsOfCapability(absl::string_view capability);

absl::Status EveryMethodAnswers(SanityTarget& t);
absl::Status HonoursOperationIds(SanityTarget& t);
absl::Status RefusesUnknownResourceType(SanityTarget& t);
absl::Status TakesLargeRequests(SanityTarget& t);
// After lifecycle.kill-9: the operation calls.operation-id applied is still
// remembered by the new process (its state was kept).
absl::Status RemembersAfterKill(SanityTarget& t);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_CALL_CHECKS_H_
