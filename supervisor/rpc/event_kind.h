#ifndef PITSTOP_SUPERVISOR_RPC_EVENT_KIND_H_
#define PITSTOP_SUPERVISOR_RPC_EVENT_KIND_H_

// The one place where the core's event kinds ("state", "upgrade-committed",
// ...) become the API's EventKind. The core still names kinds as text; the
// Event message carries both.

#include "absl/strings/string_view.h"
#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

// The enum for one of the core's kinds; EVENT_KIND_UNSPECIFIED for text
// that names no known kind. Pure; thread-safe.
pitstop::supervisor::v1::EventKind EventKindFromString(absl::string_view kind);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_EVENT_KIND_H_
