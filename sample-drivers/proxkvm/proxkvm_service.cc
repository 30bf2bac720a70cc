#include "proxkvm_service.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pitstop/sdk/log.h"
#include "pitstop/sdk/properties.h"
#include "pitstop/sdk/status.h"

namespace pitstop::proxkvm {
namespace {

namespace v1 = ::pitstop::driver::v1;

constexpr char kHost[] = "host";
constexpr char kVm[] = "vm";
constexpr int64_t kFallbackDiskSizeGb = 64;
constexpr int64_t kMaxDiskSizeGb = 65536;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr int kMaxNics = 32;

absl::Status RequireClusterProperties(const v1::CallContext& context) {
  const sdk::Properties properties(context);
  PITSTOP_RETURN_IF_ERROR(properties.RequireStrings(
      {"url", "user", "token", "node"},
      "proxkvm needs url, user, token and node to know which cluster to "
      "talk to"));
  PITSTOP_RETURN_IF_ERROR(properties.GetBoolOr("verify_tls", true).status());
  absl::StatusOr<int64_t> disk =
      properties.GetIntegerOr("disk_size_gb", kFallbackDiskSizeGb);
  if (!disk.ok()) return absl::InvalidArgumentError(disk.status().message());
  if (*disk < 1 || *disk > kMaxDiskSizeGb) {
    return absl::InvalidArgumentError(
        absl::StrCat("property 'disk_size_gb' is ", *disk,
                     "; it must be from 1 to ", kMaxDiskSizeGb));
  }
  return absl::OkStatus();
}

// Only called once RequireClusterProperties has passed.
std::string StringProperty(const v1::CallContext& context,
                           absl::string_view key) {
  return sdk::Properties(context).GetStringOr(key, "").value_or("");
}
uint64_t DiskSizeBytes(const v1::CallContext& context) {
  return static_cast<uint64_t>(
             sdk::Properties(context)
                 .GetIntegerOr("disk_size_gb", kFallbackDiskSizeGb)
                 .value_or(kFallbackDiskSizeGb)) *
         kGiB;
}

// The host part of an http(s) URL, or INVALID_ARGUMENT.
absl::StatusOr<std::string> UrlHost(absl::string_view url,
                                    absl::string_view what) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") &&
      !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", url,
                     "' must start with https:// (or http://), e.g. "
                     "https://pve1.example.com:8006"));
  }
  absl::string_view authority = rest.substr(0, rest.find('/'));
  absl::string_view host = authority.substr(0, authority.find(':'));
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", url, "' names no host"));
  }
  return std::string(host);
}

uint64_t Fnv1a(absl::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

absl::StatusOr<HostRecord*> FindHost(ClusterState& state,
                                     const std::string& id) {
  auto it = state.hosts.find(id);
  if (it == state.hosts.end()) {
    return absl::NotFoundError(absl::StrCat(
        "host '", id,
        "' is not part of the cluster; connect it first with ConnectHost"));
  }
  return &it->second;
}

absl::StatusOr<VmRecord*> FindVm(ClusterState& state, const std::string& id) {
  auto it = state.vms.find(id);
  if (it == state.vms.end()) {
    return absl::NotFoundError(absl::StrCat(
        "VM '", id,
        "' does not exist in the cluster; create it with PrepareVm"));
  }
  return &it->second;
}

v1::PowerState PowerOf(const VmRecord& vm) {
  return vm.running ? v1::POWER_STATE_ON : v1::POWER_STATE_OFF;
}

void FillVmStates(const ClusterState& state, const std::string& host,
                  google::protobuf::Map<std::string, v1::PowerState>* out) {
  for (const auto& [id, vm] : state.vms) {
    if (vm.host != host) continue;
    (*out)[vm.spec.name().empty() ? id : vm.spec.name()] = PowerOf(vm);
  }
}

// Whether `host` has the memory to run `vm` besides what runs there.
absl::Status CheckMemory(const ClusterState& state, const HostRecord& host,
                         const VmRecord& vm) {
  uint64_t used = 0;
  for (const auto& [id, other] : state.vms) {
    if (other.running && other.host == host.id && id != vm.id) {
      used += other.spec.memory_bytes();
    }
  }
  if (used + vm.spec.memory_bytes() <= host.memory_bytes) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "host '", host.id, "' has ",
      host.memory_bytes > used ? host.memory_bytes - used : 0,
      " bytes of memory free but VM '", vm.id, "' needs ",
      vm.spec.memory_bytes(), "; stop VMs there or use another host"));
}

absl::StatusOr<std::string> NormalizeMac(absl::string_view text,
                                         absl::string_view nic_id) {
  std::vector<absl::string_view> octets = absl::StrSplit(text, ':');
  bool ok = octets.size() == 6;
  for (absl::string_view octet : octets) {
    ok = ok && octet.size() == 2 && absl::ascii_isxdigit(octet[0]) &&
         absl::ascii_isxdigit(octet[1]);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("NIC '", nic_id, "': MAC address '", text,
                     "' is not of the form 02:00:5e:10:00:01"));
  }
  return absl::AsciiStrToLower(text);
}

// Runs a mutating operation: checks the properties and the resource, replays
// a remembered result for a known operation id, else applies `apply` and
// remembers its response.
template <typename Response>
grpc::Status Mutate(
    ProxkvmStore& store, absl::string_view method,
    const v1::CallContext& context, absl::string_view resource_type,
    Response* response,
    absl::FunctionRef<absl::Status(ClusterState&, const std::string&)> apply) {
  bool replayed = false;
  absl::Status status = [&]() -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(RequireClusterProperties(context));
    absl::StatusOr<std::string> id =
        sdk::RequireResource(context, resource_type);
    if (!id.ok()) return id.status();
    return store.Update([&](ClusterState& state) {
      return state.operations.Run(
          context.operation_id(), method, *id, *response,
          [&] { return apply(state, *id); }, &replayed);
    });
  }();
  sdk::LogCall(method, context, status, replayed);
  return sdk::ToGrpcStatus(status);
}

// Runs a read-only operation on `resource_type`.
grpc::Status Query(
    ProxkvmStore& store, absl::string_view method,
    const v1::CallContext& context, absl::string_view resource_type,
    absl::FunctionRef<absl::Status(const ClusterState&, const std::string&)>
        read) {
  absl::Status status = [&]() -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(RequireClusterProperties(context));
    absl::StatusOr<std::string> id =
        sdk::RequireResource(context, resource_type);
    if (!id.ok()) return id.status();
    return store.Read(
        [&](const ClusterState& state) { return read(state, *id); });
  }();
  sdk::LogCall(method, context, status);
  return sdk::ToGrpcStatus(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProxkvmService>> ProxkvmService::Create(
    const std::string& state_dir) {
  absl::StatusOr<std::unique_ptr<ProxkvmStore>> store =
      OpenProxkvmStore(state_dir);
  if (!store.ok()) return store.status();
  return std::unique_ptr<ProxkvmService>(new ProxkvmService(*std::move(store)));
}

ProxkvmService::ProxkvmService(std::unique_ptr<ProxkvmStore> store)
    : store_(std::move(store)) {}

grpc::Status ProxkvmService::ConnectHost(grpc::ServerContext*,
                                         const v1::ConnectHostRequest* request,
                                         v1::ConnectHostResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, "ConnectHost", context, kHost, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        const std::string url = request->url().empty()
                                    ? StringProperty(context, "url")
                                    : request->url();
        PITSTOP_RETURN_IF_ERROR(
            UrlHost(url, absl::StrCat("host '", id, "': url")).status());
        if (absl::StartsWith(url, "http://") &&
            sdk::Properties(context)
                .GetBoolOr("verify_tls", true)
                .value_or(true)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "host '", id, "': url '", url,
              "' is plain http but verify_tls is true; use https, or set "
              "verify_tls to false"));
        }
        const bool has_user = !request->username().empty() ||
                              !StringProperty(context, "user").empty();
        const bool has_secret = !request->password().empty() ||
                                !StringProperty(context, "token").empty();
        if (!has_user || !has_secret) {
          return absl::InvalidArgumentError(absl::StrCat(
              "host '", id,
              "': no credentials; pass username and password, or set the "
              "user and token properties"));
        }
        HostRecord& host = state.hosts[id];
        const uint64_t h = Fnv1a(id);
        host.id = id;
        host.url = url;
        host.cpus = 16u << (h % 3);
        host.cpu_speed_mhz = 2400 + static_cast<uint32_t>((h >> 8) % 5) * 100;
        host.memory_bytes = uint64_t{host.cpus} * 8 * kGiB;
        host.version = "pve-manager/8.1.4 (proxkvm simulation)";
        response->set_cpus(host.cpus);
        response->set_cpu_speed_mhz(host.cpu_speed_mhz);
        response->set_memory_bytes(host.memory_bytes);
        response->set_version(host.version);
        FillVmStates(state, id, response->mutable_vm_states());
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::HostVmStates(
    grpc::ServerContext*, const v1::HostVmStatesRequest* request,
    v1::HostVmStatesResponse* response) {
  return Query(*store_, "HostVmStates", request->context(), kHost,
               [&](const ClusterState& state, const std::string& id) {
                 if (!state.hosts.count(id)) {
                   ClusterState empty;
                   return FindHost(empty, id).status();
                 }
                 FillVmStates(state, id, response->mutable_vm_states());
                 return absl::OkStatus();
               });
}

grpc::Status ProxkvmService::PrepareVm(grpc::ServerContext*,
                                       const v1::PrepareVmRequest* request,
                                       v1::PrepareVmResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, "PrepareVm", context, kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        v1::VmSpec spec = request->spec();
        if (!spec.id().empty() && spec.id() != id) {
          return absl::InvalidArgumentError(
              absl::StrCat("VM '", id, "': spec.id is '", spec.id(),
                           "'; it must be empty or the resource id"));
        }
        spec.set_id(id);
        if (spec.cpus() < 1) {
          return absl::InvalidArgumentError(
              absl::StrCat("VM '", id, "': spec.cpus must be at least 1"));
        }
        if (spec.memory_bytes() == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "VM '", id, "': spec.memory_bytes must be greater than 0"));
        }
        if (spec.disks().empty()) {
          v1::VmDisk* root = spec.add_disks();
          root->set_id(absl::StrCat(id, "-root"));
          root->set_type("ROOT");
        }
        for (v1::VmDisk& disk : *spec.mutable_disks()) {
          if (disk.size_bytes() == 0)
            disk.set_size_bytes(DiskSizeBytes(context));
        }
        if (spec.nics_size() > kMaxNics) {
          return absl::InvalidArgumentError(
              absl::StrCat("VM '", id, "' has ", spec.nics_size(),
                           " NICs; at most ", kMaxNics));
        }
        for (v1::VmNic& nic : *spec.mutable_nics()) {
          absl::StatusOr<std::string> mac = NormalizeMac(nic.mac(), nic.id());
          if (!mac.ok()) return mac.status();
          nic.set_mac(*mac);
        }
        auto it = state.vms.find(id);
        if (it != state.vms.end() && it->second.running) {
          return absl::FailedPreconditionError(absl::StrCat(
              "VM '", id, "' is running on host '", it->second.host,
              "'; stop it before preparing it again"));
        }
        VmRecord& vm = state.vms[id];
        if (vm.vmid == 0) {
          vm.id = id;
          vm.vmid = state.next_vmid++;
        }
        vm.spec = std::move(spec);
        auto& details = *response->mutable_details();
        details["vendor_vm_id"] = absl::StrCat(vm.vmid);
        details["node"] = StringProperty(context, "node");
        details["root_disk_bytes"] =
            absl::StrCat(vm.spec.disks(0).size_bytes());
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::StartVm(grpc::ServerContext*,
                                     const v1::StartVmRequest* request,
                                     v1::StartVmResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, "StartVm", context, kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VmRecord*> vm = FindVm(state, id);
        if (!vm.ok()) return vm.status();
        if (!request->spec().id().empty() && request->spec().id() != id) {
          return absl::InvalidArgumentError(
              absl::StrCat("VM '", id, "': spec.id is '", request->spec().id(),
                           "'; it must be empty or the resource id"));
        }
        std::string host_id = request->host();
        if (host_id.empty()) host_id = (*vm)->host;
        if (host_id.empty()) host_id = StringProperty(context, "node");
        absl::StatusOr<HostRecord*> host = FindHost(state, host_id);
        if (!host.ok()) return host.status();
        if ((*vm)->running) {
          if ((*vm)->host == host_id) return absl::OkStatus();
          return absl::FailedPreconditionError(absl::StrCat(
              "VM '", id, "' is already running on host '", (*vm)->host,
              "'; migrate it with MigrateVm to move it to '", host_id, "'"));
        }
        PITSTOP_RETURN_IF_ERROR(CheckMemory(state, **host, **vm));
        (*vm)->host = host_id;
        (*vm)->running = true;
        ++(*vm)->boots;
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::StopVm(grpc::ServerContext*,
                                    const v1::StopVmRequest* request,
                                    v1::StopVmResponse* response) {
  return Mutate(*store_, "StopVm", request->context(), kVm, response,
                [&](ClusterState& state, const std::string& id) {
                  absl::StatusOr<VmRecord*> vm = FindVm(state, id);
                  if (!vm.ok()) return vm.status();
                  (*vm)->running = false;
                  return absl::OkStatus();
                });
}

grpc::Status ProxkvmService::RebootVm(grpc::ServerContext*,
                                      const v1::RebootVmRequest* request,
                                      v1::RebootVmResponse* response) {
  return Mutate(
      *store_, "RebootVm", request->context(), kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VmRecord*> vm = FindVm(state, id);
        if (!vm.ok()) return vm.status();
        if (!(*vm)->running) {
          return absl::FailedPreconditionError(absl::StrCat(
              "VM '", id, "' is stopped; start it with StartVm instead"));
        }
        ++(*vm)->boots;
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::ExpungeVm(grpc::ServerContext*,
                                       const v1::ExpungeVmRequest* request,
                                       v1::ExpungeVmResponse* response) {
  return Mutate(
      *store_, "ExpungeVm", request->context(), kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VmRecord*> vm = FindVm(state, id);
        if (!vm.ok()) return vm.status();
        if ((*vm)->running) {
          return absl::FailedPreconditionError(
              absl::StrCat("VM '", id, "' is running on host '", (*vm)->host,
                           "'; stop it with StopVm before expunging it"));
        }
        state.vms.erase(id);
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::MigrateVm(grpc::ServerContext*,
                                       const v1::MigrateVmRequest* request,
                                       v1::MigrateVmResponse* response) {
  return Mutate(
      *store_, "MigrateVm", request->context(), kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VmRecord*> vm = FindVm(state, id);
        if (!vm.ok()) return vm.status();
        if (request->destination_host().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("VM '", id,
                           "': destination_host is empty; name the host to "
                           "migrate to"));
        }
        absl::StatusOr<HostRecord*> destination =
            FindHost(state, request->destination_host());
        if (!destination.ok()) return destination.status();
        if ((*vm)->host.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "VM '", id,
              "' was never started, so it is on no host; start it with "
              "StartVm on the host you want"));
        }
        if ((*vm)->host == (*destination)->id) return absl::OkStatus();
        if ((*vm)->running) {
          PITSTOP_RETURN_IF_ERROR(CheckMemory(state, **destination, **vm));
        }
        (*vm)->host = (*destination)->id;
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::PlugNic(grpc::ServerContext*,
                                     const v1::PlugNicRequest* request,
                                     v1::PlugNicResponse* response) {
  return Mutate(
      *store_, "PlugNic", request->context(), kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VmRecord*> vm = FindVm(state, id);
        if (!vm.ok()) return vm.status();
        const v1::VmNic& nic = request->nic();
        if (nic.id().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("VM '", id, "': nic.id is empty; set the NIC's id"));
        }
        absl::StatusOr<std::string> mac = NormalizeMac(nic.mac(), nic.id());
        if (!mac.ok()) return mac.status();
        for (const v1::VmNic& plugged : (*vm)->spec.nics()) {
          if (plugged.id() == nic.id()) {
            if (plugged.mac() == *mac) return absl::OkStatus();
            return absl::FailedPreconditionError(absl::StrCat(
                "VM '", id, "' already has NIC '", nic.id(), "' with MAC ",
                plugged.mac(), "; unplug it first to change its MAC"));
          }
          if (plugged.mac() == *mac) {
            return absl::FailedPreconditionError(absl::StrCat(
                "VM '", id, "': MAC ", *mac, " is already used by its NIC '",
                plugged.id(), "'"));
          }
        }
        if ((*vm)->spec.nics_size() >= kMaxNics) {
          return absl::FailedPreconditionError(
              absl::StrCat("VM '", id, "' already has ", kMaxNics,
                           " NICs, the most a VM can have; unplug one first"));
        }
        v1::VmNic* added = (*vm)->spec.add_nics();
        *added = nic;
        added->set_mac(*mac);
        return absl::OkStatus();
      });
}

grpc::Status ProxkvmService::UnplugNic(grpc::ServerContext*,
                                       const v1::UnplugNicRequest* request,
                                       v1::UnplugNicResponse* response) {
  return Mutate(
      *store_, "UnplugNic", request->context(), kVm, response,
      [&](ClusterState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VmRecord*> vm = FindVm(state, id);
        if (!vm.ok()) return vm.status();
        auto* nics = (*vm)->spec.mutable_nics();
        for (int i = 0; i < nics->size(); ++i) {
          if (nics->Get(i).id() == request->nic().id()) {
            nics->DeleteSubrange(i, 1);
            return absl::OkStatus();
          }
        }
        return absl::NotFoundError(
            absl::StrCat("VM '", id, "' has no NIC '", request->nic().id(),
                         "'; check the NIC id (was it already unplugged?)"));
      });
}

grpc::Status ProxkvmService::GetConsole(grpc::ServerContext*,
                                        const v1::GetConsoleRequest* request,
                                        v1::GetConsoleResponse* response) {
  const v1::CallContext& context = request->context();
  return Query(
      *store_, "GetConsole", context, kVm,
      [&](const ClusterState& state, const std::string& id) -> absl::Status {
        auto it = state.vms.find(id);
        if (it == state.vms.end()) {
          ClusterState empty;
          return FindVm(empty, id).status();
        }
        const VmRecord& vm = it->second;
        if (!vm.running) {
          return absl::FailedPreconditionError(absl::StrCat(
              "VM '", id, "' is stopped; a console needs a running VM"));
        }
        absl::StatusOr<std::string> api_host =
            UrlHost(StringProperty(context, "url"), "property 'url'");
        if (!api_host.ok()) return api_host.status();
        absl::BitGen gen;
        std::string password;
        for (int i = 0; i < 12; ++i) {
          password.push_back(
              "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
                  [absl::Uniform(gen, 0, 56)]);
        }
        response->set_url(absl::StrCat(
            "https://", *api_host, ":8006/?console=kvm&novnc=1&vmid=", vm.vmid,
            "&node=", vm.host));
        response->set_host(vm.host);
        response->set_port(static_cast<uint32_t>(5900 + vm.vmid % 100));
        response->set_password(password);
        return absl::OkStatus();
      });
}

}  // namespace pitstop::proxkvm
