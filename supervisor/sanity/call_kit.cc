#include "supervisor/sanity/call_kit.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/message_differencer.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/sanity/sanity_daemon.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
using google::protobuf::MethodDescriptor;

namespace {

std::string StateName(sv1::DriverState s) {
  absl::string_view name = sv1::DriverState_Name(s);
  absl::ConsumePrefix(&name, "DRIVER_STATE_");
  return std::string(name);
}

}  // namespace

absl::StatusOr<sv1::Driver> AwaitReady(SanityTarget& t, int not_pid,
                                       absl::Duration timeout) {
  auto d = t.daemon->AwaitDriver(
      t.manifest.name,
      [not_pid](const sv1::Driver& d) {
        return d.state() == sv1::DRIVER_STATE_READY && d.pid() != not_pid;
      },
      timeout);
  if (!d.ok()) return d.status();
  if (d->state() != sv1::DRIVER_STATE_READY || d->pid() == not_pid) {
    return absl::DeadlineExceededError(absl::StrCat(
        "not READY within ", absl::FormatDuration(timeout), ": ",
        StateName(d->state()), d->message().empty() ? "" : ": ", d->message(),
        d->last_exit().empty()
            ? ""
            : absl::StrCat(" (last exit: ", d->last_exit(), ")")));
  }
  return d;
}

absl::StatusOr<int> ReadyPid(SanityTarget& t) {
  absl::StatusOr<sv1::Driver> d = AwaitReady(t, 0, absl::Seconds(10));
  if (!d.ok()) return d.status();
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
                    const std::string& op, size_t pad_bytes) {
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

}  // namespace pitstop
