#include "supervisor/sanity/call_checks.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/sanity/call_kit.h"

namespace pitstop {
namespace {

using google::protobuf::MethodDescriptor;

// Below gRPC's default 4 MiB limit on a received message, which every
// driver's server keeps unless it lowers it.
constexpr size_t kLargeRequest = 3 << 20;

}  // namespace

std::vector<std::string> MethodsOfCapability(absl::string_view capability) {
  // CloudStack's names for what a provider offers, and the calls that
  // offering it means (docs/vendor-guide.md lists them).
  static const std::map<std::string, std::vector<std::string>, std::less<>>
      kMethods = {
          {"STORAGE_SYSTEM_SNAPSHOT", {"TakeSnapshot", "DeleteSnapshot"}},
          {"CAN_REVERT_VOLUME_TO_SNAPSHOT", {"RevertSnapshot"}},
          {"Connectivity", {"ImplementNetwork", "PrepareNic", "ReleaseNic"}},
          {"Firewall", {"ApplyRules"}},
          {"PortForwarding", {"ApplyRules"}},
          {"StaticNat", {"ApplyRules"}},
          {"Lb", {"ApplyRules"}},
          {"SourceNat", {"ApplyIps"}},
          {"LIVE_MIGRATION", {"MigrateVm"}},
          {"HOT_PLUG_NIC", {"PlugNic", "UnplugNic"}},
          {"VNC_CONSOLE", {"GetConsole"}},
      };
  auto it = kMethods.find(capability);
  return it == kMethods.end() ? std::vector<std::string>{} : it->second;
}

absl::Status EveryMethodAnswers(SanityTarget& t) {
  ASSIGN_OR_RETURN(const int pid, ReadyPid(t));
  std::map<std::string, std::string> promised;  // method -> capability
  for (const std::string& c : t.manifest.capabilities) {
    for (std::string& m : MethodsOfCapability(c)) promised.emplace(m, c);
  }
  const std::string type = ResourceType(t, "");
  std::vector<std::string> wrong;
  for (const MethodDescriptor* m : CategoryMethods(t.manifest.category)) {
    const std::string id = absl::StrCat("sanity-", m->name());
    const RoutedAnswer a = CallRouted(*t.daemon, t.manifest.name, *m,
                                      Context(t, type, id, id), kCallTimeout);
    auto capability = promised.find(m->name());
    if (a.code == grpc::StatusCode::UNKNOWN ||
        a.code == grpc::StatusCode::DEADLINE_EXCEEDED ||
        a.code == grpc::StatusCode::UNAVAILABLE) {
      // An unhandled exception, a hang, or a crash: not an answer.
      wrong.push_back(absl::StrCat(m->name(), " answered ", Describe(a)));
    } else if (a.code == grpc::StatusCode::UNIMPLEMENTED &&
               capability != promised.end()) {
      wrong.push_back(absl::StrCat(m->name(),
                                   " is UNIMPLEMENTED although driver.yaml "
                                   "declares the capability ",
                                   capability->second));
    }
  }
  RETURN_IF_ERROR(StillUp(t, pid, "a call of every method"));
  if (wrong.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrJoin(wrong, "; "));
}

absl::Status HonoursOperationIds(SanityTarget& t) {
  ASSIGN_OR_RETURN(const int pid, ReadyPid(t));
  const std::string op = "sanity-op-1";
  std::string why;
  auto taken = FirstTaken(t, "sanity-idem-a", op, why);
  if (!taken) {
    if (why.empty()) return absl::OkStatus();  // it creates nothing
    return absl::FailedPreconditionError(absl::StrCat(
        why,
        ": a driver must take a plausible creating call (pitstop-sanity "
        "sends the request's main fields and a valid property bag) for its "
        "operation ids to be checked"));
  }
  const auto& [creation, first] = *taken;
  const std::string name(creation.method->name());
  t.applied = SanityTarget::Applied{name, creation.type,   "sanity-idem-a",
                                    op,   creation.fields, first.response};
  std::vector<std::string> wrong;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const RoutedAnswer again = Create(t, creation, "sanity-idem-a", op);
    if (again.code != grpc::StatusCode::OK) {
      wrong.push_back(absl::StrCat(name, " again with operation id ", op,
                                   " answered ", Describe(again),
                                   " instead of the first answer"));
      break;
    }
    if (!SameResponse(*creation.method, again.response, first.response)) {
      wrong.push_back(absl::StrCat(
          name, " again with operation id ", op, " answered differently (",
          again.response.size(), " bytes against ", first.response.size(),
          "): was it applied twice?"));
      break;
    }
  }
  const RoutedAnswer reused = Create(t, creation, "sanity-idem-b", op);
  if (reused.code != grpc::StatusCode::INVALID_ARGUMENT) {
    wrong.push_back(absl::StrCat("operation id ", op, " reused for ",
                                 creation.type, "/sanity-idem-b answered ",
                                 Describe(reused), ", not INVALID_ARGUMENT"));
  }
  RETURN_IF_ERROR(StillUp(t, pid, "repeated operations"));
  if (wrong.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrJoin(wrong, "; "));
}

absl::Status RefusesUnknownResourceType(SanityTarget& t) {
  ASSIGN_OR_RETURN(const int pid, ReadyPid(t));
  std::vector<std::string> wrong;
  for (Creation c : Creations(t)) {
    c.type = "sanity-no-such-type";
    const RoutedAnswer a = Create(t, c, "x", "sanity-type-1");
    if (a.code == grpc::StatusCode::INVALID_ARGUMENT ||
        a.code == grpc::StatusCode::NOT_FOUND ||
        a.code == grpc::StatusCode::UNIMPLEMENTED) {
      continue;
    }
    wrong.push_back(absl::StrCat(
        c.method->name(), " of resource type \"sanity-no-such-type\" answered ",
        Describe(a), ", not INVALID_ARGUMENT"));
  }
  RETURN_IF_ERROR(StillUp(t, pid, "a call of an unknown resource type"));
  if (wrong.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      absl::StrJoin(wrong, "; "),
      t.manifest.resource_types.empty()
          ? " (driver.yaml declares no resource_types, so the daemon lets "
            "every type through: declare them, or refuse unknown ones)"
          : ""));
}

absl::Status TakesLargeRequests(SanityTarget& t) {
  ASSIGN_OR_RETURN(const int pid, ReadyPid(t));
  std::vector<std::string> wrong;
  for (const Creation& c : Creations(t)) {
    const RoutedAnswer small = Create(t, c, "sanity-large-a", "sanity-large-1");
    const RoutedAnswer large =
        Create(t, c, "sanity-large-b", "sanity-large-2", kLargeRequest);
    if (large.code == small.code) continue;
    wrong.push_back(absl::StrCat(
        c.method->name(), " with 3 MiB of fields it does not know answered ",
        Describe(large), " where the same call without them answered ",
        Describe(small)));
  }
  RETURN_IF_ERROR(StillUp(t, pid, "a 3 MiB request"));
  if (wrong.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      absl::StrJoin(wrong, "; "),
      ": keep the gRPC server's receive limit at its 4 MiB default or "
      "above"));
}

absl::Status RemembersAfterKill(SanityTarget& t) {
  if (!t.applied) return absl::OkStatus();  // it applied nothing to keep
  const SanityTarget::Applied& a = *t.applied;
  const MethodDescriptor* method = Method(t, a.method);
  if (method == nullptr) return absl::InternalError("no such method");
  ASSIGN_OR_RETURN(const int pid, ReadyPid(t));
  const RoutedAnswer again = CallRouted(
      *t.daemon, t.manifest.name, *method,
      Context(t, a.type, a.id, a.operation_id), kCallTimeout, a.fields);
  RETURN_IF_ERROR(StillUp(t, pid, "the replay"));
  if (again.code == grpc::StatusCode::OK &&
      SameResponse(*method, again.response, a.response)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      a.method, " of ", a.type, "/", a.id, " sent again with operation id ",
      a.operation_id, " after kill -9 answered ",
      again.code == grpc::StatusCode::OK ? "differently" : Describe(again),
      ": the process that replaced the killed one lost what it had applied "
      "(keep the operation log in the data directory, written with the "
      "change it records)"));
}

}  // namespace pitstop
