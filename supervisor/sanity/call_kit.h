#ifndef PITSTOP_SUPERVISOR_SANITY_CALL_KIT_H_
#define PITSTOP_SUPERVISOR_SANITY_CALL_KIT_H_

// What pitstop-sanity's checks share: whether the driver is READY and still
// serves, the call context they send, and the category's creating
// operations with a plausible request each.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pitstop/supervisor/v1/admin.pb.h"
#include "supervisor/sanity/routed_call.h"
#include "supervisor/sanity/sanity_checks.h"

namespace pitstop {

// How long one call may take: a driver that answers none within it hangs.
inline constexpr absl::Duration kCallTimeout = absl::Seconds(10);

// The driver once READY with a pid other than `not_pid` (0: any), or an
// error naming its state, message and last exit after `timeout`.
absl::StatusOr<pitstop::supervisor::v1::Driver> AwaitReady(
    SanityTarget& t, int not_pid, absl::Duration timeout);
// The pid of the READY driver; an error once it is not READY within 10 s
// (it crashed, or hangs in its probes).
absl::StatusOr<int> ReadyPid(SanityTarget& t);
// After calls: the same process `pid` still serves; else an error naming
// `after`.
absl::Status StillUp(SanityTarget& t, int pid, absl::string_view after);

// `preferred` if the driver declares it, else its first resource type (or
// `preferred` when it declares none).
std::string ResourceType(const SanityTarget& t, absl::string_view preferred);
// A context for resource type/id with operation id `op` and the target's
// valid bag.
pitstop::driver::v1::CallContext Context(const SanityTarget& t,
                                         const std::string& type,
                                         const std::string& id,
                                         const std::string& op);
// The method `name` of the driver's category service, or null.
const google::protobuf::MethodDescriptor* Method(const SanityTarget& t,
                                                 absl::string_view name);

// An operation that creates something, with a plausible request.
struct Creation {
  const google::protobuf::MethodDescriptor* method = nullptr;
  std::string type;    // its resource type
  std::string fields;  // the request without its context
};
// The category's creating operations, most common first.
std::vector<Creation> Creations(const SanityTarget& t);
// Calls `c` on resource `id` with operation id `op`.
RoutedAnswer Create(SanityTarget& t, const Creation& c, const std::string& id,
                    const std::string& op, size_t pad_bytes = 0);
// The first creating operation the driver takes (answers OK), tried on
// resource `id` with operation id `op`; nullopt (and `why` naming each
// answer) if none; `why` empty when every one is UNIMPLEMENTED.
std::optional<std::pair<Creation, RoutedAnswer>> FirstTaken(
    SanityTarget& t, const std::string& id, const std::string& op,
    std::string& why);
// Whether two serialized responses of `method` hold the same (map entries
// may come in any order).
bool SameResponse(const google::protobuf::MethodDescriptor& method,
                  const std::string& a, const std::string& b);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_CALL_KIT_H_
