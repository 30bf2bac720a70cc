#include "proxkvm_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pitstop/sdk/records.h"
#include "pitstop/sdk/status.h"

namespace pitstop::proxkvm {
namespace {

constexpr sdk::RecordFormat kFormat = {"proxkvm state", "proxkvm-state", "1"};

absl::Status ParseRecord(const sdk::Record& r, ClusterState& state) {
  const std::string& kind = r.kind();
  if (kind == "next") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(2));
    return r.Uint(1, &state.next_vmid);
  }
  if (kind == "host") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(7));
    HostRecord h;
    h.id = r.Str(1);
    h.url = r.Str(2);
    uint64_t cpus = 0, mhz = 0;
    PITSTOP_RETURN_IF_ERROR(r.Uint(3, &cpus));
    PITSTOP_RETURN_IF_ERROR(r.Uint(4, &mhz));
    h.cpus = static_cast<uint32_t>(cpus);
    h.cpu_speed_mhz = static_cast<uint32_t>(mhz);
    PITSTOP_RETURN_IF_ERROR(r.Uint(5, &h.memory_bytes));
    h.version = r.Str(6);
    state.hosts[h.id] = std::move(h);
    return absl::OkStatus();
  }
  if (kind == "vm") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(7));
    VmRecord v;
    v.id = r.Str(1);
    PITSTOP_RETURN_IF_ERROR(r.Uint(2, &v.vmid));
    if (!v.spec.ParseFromString(r.Str(3))) return r.Error("corrupt VM spec");
    v.host = r.Str(4);
    PITSTOP_RETURN_IF_ERROR(r.Bool(5, &v.running));
    PITSTOP_RETURN_IF_ERROR(r.Uint(6, &v.boots));
    state.vms[v.id] = std::move(v);
    return absl::OkStatus();
  }
  if (kind == "operations") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(2));
    absl::StatusOr<sdk::OperationLog> log = sdk::OperationLog::Parse(r.Str(1));
    if (!log.ok()) return log.status();
    state.operations = *std::move(log);
    return absl::OkStatus();
  }
  return r.Error(absl::StrCat("unknown record '", kind, "'"));
}

}  // namespace

std::string SerializeClusterState(const ClusterState& state) {
  sdk::RecordWriter w(kFormat);
  w.Add("next", state.next_vmid);
  for (const auto& [id, h] : state.hosts) {
    w.Add("host", h.id, h.url, uint64_t{h.cpus}, uint64_t{h.cpu_speed_mhz},
          h.memory_bytes, h.version);
  }
  for (const auto& [id, v] : state.vms) {
    w.Add("vm", v.id, v.vmid, v.spec.SerializeAsString(), v.host, v.running,
          v.boots);
  }
  w.Add("operations", state.operations.Serialize());
  return w.Take();
}

absl::StatusOr<ClusterState> ParseClusterState(absl::string_view text) {
  ClusterState state;
  PITSTOP_RETURN_IF_ERROR(sdk::ParseRecords(
      text, kFormat,
      [&](const sdk::Record& r) { return ParseRecord(r, state); }));
  return state;
}

absl::StatusOr<std::unique_ptr<ProxkvmStore>> OpenProxkvmStore(
    const std::string& dir) {
  return ProxkvmStore::Open(dir, "cluster.state",
                            {&SerializeClusterState, &ParseClusterState});
}

}  // namespace pitstop::proxkvm
