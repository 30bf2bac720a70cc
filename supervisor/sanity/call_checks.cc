#include "supervisor/sanity/call_checks.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/sanity/routed_call.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
using google::protobuf::MethodDescriptor;

// How long one call may take: a driver that answers none within it hangs.
constexpr absl::Duration kCallTimeout = absl::Seconds(10);
// Below gRPC's default 4 MiB limit on a received message, which every
// driver's server keeps unless it lowers it.
constexpr size_t kLargeRequest = 3 << 20;

// The pid of the READY driver; an error once it is not READY (it crashed,
// or hangs in its probes).
absl::StatusOr<int> ReadyPid(SanityTarget& t) {
  auto d = t.daemon->AwaitDriver(
      t.manifest.name,
      [](const sv1::Driver& d) { return d.state() == sv1::DRIVER_STATE_READY; },
      absl::Seconds(10));
  if (!d.ok()) return d.status();
  if (d->state() != sv1::DRIVER_STATE_READY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the driver is not READY: ", sv1::DriverState_Name(d->state()), " ",
        d->message()));
  }
  return d->pid();
}

// After calls: the same process still serves.
absl::Status StillUp(SanityTarget& t, int pid, absl::string_view after) {
  auto now = ReadyPid(t);
  if (!now.ok() || *now != pid) {
    return absl::FailedPreconditionError(
        absl::StrCat("pid ", pid, " did not survive ", after, ": ",
                     now.ok() ? absl::StrCat("pid ", *now, " serves now")
                              : std::string(now.status().message())));
  }
  return absl::OkStatus();
}

std::string ResourceType(const SanityTarget& t, absl::string_view preferred) {
  const auto& types = t.manifest.resource_types;
  if (std::find(types.begin(), types.end(), preferred) != types.end()) {
    return std::string(preferred);
  }
  return types.empty() ? std::string(preferred) : types.front();
}

dv1::CallContext Context(const SanityTarget& t, const std::string& type,
                         const std::string& id, const std::string& op) {
  dv1::CallContext ctx;
  ctx.mutable_resource()->set_type(type);
  ctx.mutable_resource()->set_id(id);
  ctx.set_operation_id(op);
  ctx.set_caller("pitstop-sanity");
  for (const auto& [k, v] : t.props) {
    (*ctx.mutable_properties())[k].set_string_value(v);
  }
  return ctx;
}

const MethodDescriptor* Method(const SanityTarget& t, absl::string_view name) {
  for (const MethodDescriptor* m : CategoryMethods(t.manifest.category)) {
    if (m->name() == name) return m;
  }
  return nullptr;
}

// An operation that creates something, with a plausible request.
struct Creation {
  const MethodDescriptor* method = nullptr;
  std::string type;    // its resource type
  std::string fields;  // the request without its context
};

// The category's creating operations, most common first.
std::vector<Creation> Creations(const SanityTarget& t) {
  std::vector<Creation> out;
  auto add = [&](absl::string_view method, absl::string_view type,
                 const google::protobuf::Message& request) {
    if (const MethodDescriptor* m = Method(t, method)) {
      out.push_back({m, ResourceType(t, type), request.SerializeAsString()});
    }
  };
  switch (t.manifest.category) {
    case DriverCategory::kStorage: {
      dv1::CreateVolumeRequest volume;
      volume.set_pool_id("sanity-pool");
      volume.set_size_bytes(uint64_t{1} << 30);
      volume.set_name("sanity");
      add("CreateVolume", "volume", volume);
      dv1::InitializePoolRequest pool;
      pool.set_url("iscsi://192.0.2.10/iqn.2026-01.dev.pitstop:sanity/0");
      pool.set_zone("sanity");
      pool.set_name("sanity");
      pool.set_capacity_bytes(uint64_t{1} << 40);
      add("InitializePool", "storage_pool", pool);
      break;
    }
    case DriverCategory::kNetwork: {
      dv1::ImplementNetworkRequest network;
      network.set_cidr("10.1.1.0/24");
      network.set_gateway("10.1.1.1");
      network.set_guest_type("Isolated");
      network.set_zone("sanity");
      add("ImplementNetwork", "network", network);
      break;
    }
    case DriverCategory::kHypervisor: {
      dv1::PrepareVmRequest vm;
      vm.mutable_spec()->set_name("sanity");
      vm.mutable_spec()->set_cpus(1);
      vm.mutable_spec()->set_memory_bytes(uint64_t{512} << 20);
      add("PrepareVm", "vm", vm);
      break;
    }
  }
  return out;
}

// Whether two serialized responses of `method` hold the same (map entries
// may come in any order).
bool SameResponse(const MethodDescriptor& method, const std::string& a,
                  const std::string& b) {
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          method.output_type());
  if (prototype == nullptr) return a == b;
  std::unique_ptr<google::protobuf::Message> left(prototype->New());
  std::unique_ptr<google::protobuf::Message> right(prototype->New());
  return left->ParseFromString(a) && right->ParseFromString(b) &&
         google::protobuf::util::MessageDifferencer::Equals(*left, *right);
}

RoutedAnswer Create(SanityTarget& t, const Creation& c, const std::string& id,
                    const std::string& op, size_t pad_bytes = 0) {
  return CallRouted(*t.daemon, t.manifest.name, *c.method,
                    Context(t, c.type, id, op), kCallTimeout, c.fields,
                    pad_bytes);
}

// The first creating operation the driver takes (answers OK), tried on
// resource `id` with operation id `op`; nullopt (and `why` naming each
// answer) if none; `why` empty when every one is UNIMPLEMENTED.
std::optional<std::pair<Creation, RoutedAnswer>> FirstTaken(
    SanityTarget& t, const std::string& id, const std::string& op,
    std::string& why) {
  std::vector<std::string> answers;
  bool any_implemented = false;
  for (const Creation& c : Creations(t)) {
    RoutedAnswer a = Create(t, c, id, op);
    if (a.code == grpc::StatusCode::OK) return std::make_pair(c, a);
    any_implemented |= a.code != grpc::StatusCode::UNIMPLEMENTED;
    answers.push_back(absl::StrCat(c.method->name(), " of ", c.type, "/", id,
                                   " answered ", Describe(a)));
  }
  why = any_implemented ? absl::StrJoin(answers, "; ") : "";
  return std::nullopt;
}

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

}  // namespace pitstop
