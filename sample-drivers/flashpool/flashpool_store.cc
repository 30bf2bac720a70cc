#include "flashpool_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pitstop/sdk/records.h"
#include "pitstop/sdk/status.h"

namespace pitstop::flashpool {
namespace {

constexpr sdk::RecordFormat kFormat = {"flashpool state", "flashpool-state",
                                       "1"};

absl::Status ParseRecord(const sdk::Record& r, ArrayState& state) {
  const std::string& kind = r.kind();
  if (kind == "next") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(2));
    return r.Uint(1, &state.next_vendor_id);
  }
  if (kind == "pool") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(11));
    PoolRecord p;
    p.id = r.Str(1);
    p.name = r.Str(2);
    p.url = r.Str(3);
    p.zone = r.Str(4);
    PITSTOP_RETURN_IF_ERROR(r.Uint(5, &p.capacity_bytes));
    PITSTOP_RETURN_IF_ERROR(r.Uint(6, &p.capacity_iops));
    PITSTOP_RETURN_IF_ERROR(r.Bool(7, &p.maintenance));
    p.scope = r.Str(8);
    p.scope_id = r.Str(9);
    p.hypervisor = r.Str(10);
    state.pools[p.id] = std::move(p);
    return absl::OkStatus();
  }
  if (kind == "pool_tag") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(3));
    auto it = state.pools.find(r.Str(1));
    if (it == state.pools.end()) return r.Error("tag of an unknown pool");
    it->second.tags.push_back(r.Str(2));
    return absl::OkStatus();
  }
  if (kind == "volume") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(10));
    VolumeRecord v;
    v.id = r.Str(1);
    v.pool_id = r.Str(2);
    v.name = r.Str(3);
    PITSTOP_RETURN_IF_ERROR(r.Uint(4, &v.vendor_id));
    PITSTOP_RETURN_IF_ERROR(r.Uint(5, &v.size_bytes));
    PITSTOP_RETURN_IF_ERROR(r.Uint(6, &v.min_iops));
    PITSTOP_RETURN_IF_ERROR(r.Uint(7, &v.max_iops));
    PITSTOP_RETURN_IF_ERROR(r.Uint(8, &v.burst_iops));
    v.source_snapshot_id = r.Str(9);
    state.volumes[v.id] = std::move(v);
    return absl::OkStatus();
  }
  if (kind == "grant") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(4));
    auto it = state.volumes.find(r.Str(1));
    if (it == state.volumes.end()) return r.Error("grant on an unknown volume");
    it->second.grants.emplace(r.Str(2), r.Str(3));
    return absl::OkStatus();
  }
  if (kind == "snapshot") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(7));
    SnapshotRecord s;
    s.id = r.Str(1);
    s.volume_id = r.Str(2);
    s.pool_id = r.Str(3);
    s.name = r.Str(4);
    PITSTOP_RETURN_IF_ERROR(r.Uint(5, &s.vendor_id));
    PITSTOP_RETURN_IF_ERROR(r.Uint(6, &s.size_bytes));
    state.snapshots[s.id] = std::move(s);
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

std::string SerializeArrayState(const ArrayState& state) {
  sdk::RecordWriter w(kFormat);
  w.Add("next", state.next_vendor_id);
  for (const auto& [id, p] : state.pools) {
    w.Add("pool", p.id, p.name, p.url, p.zone, p.capacity_bytes,
          p.capacity_iops, p.maintenance, p.scope, p.scope_id, p.hypervisor);
    for (const std::string& tag : p.tags) w.Add("pool_tag", p.id, tag);
  }
  for (const auto& [id, v] : state.volumes) {
    w.Add("volume", v.id, v.pool_id, v.name, v.vendor_id, v.size_bytes,
          v.min_iops, v.max_iops, v.burst_iops, v.source_snapshot_id);
    for (const auto& [host, initiator] : v.grants) {
      w.Add("grant", v.id, host, initiator);
    }
  }
  for (const auto& [id, s] : state.snapshots) {
    w.Add("snapshot", s.id, s.volume_id, s.pool_id, s.name, s.vendor_id,
          s.size_bytes);
  }
  w.Add("operations", state.operations.Serialize());
  return w.Take();
}

absl::StatusOr<ArrayState> ParseArrayState(absl::string_view text) {
  ArrayState state;
  PITSTOP_RETURN_IF_ERROR(sdk::ParseRecords(
      text, kFormat,
      [&](const sdk::Record& r) { return ParseRecord(r, state); }));
  return state;
}

absl::StatusOr<std::unique_ptr<FlashpoolStore>> OpenFlashpoolStore(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<FlashpoolStore>> store = FlashpoolStore::Open(
      dir, "array.state", {&SerializeArrayState, &ParseArrayState});
  if (!store.ok()) return store.status();
  PITSTOP_RETURN_IF_ERROR((*store)->Update([](ArrayState& state) {
    if (!state.pools.count(kDefaultPoolId)) {
      PoolRecord pool;
      pool.id = kDefaultPoolId;
      pool.name = "Built-in default pool";
      pool.capacity_bytes = kDefaultPoolCapacityBytes;
      state.pools[pool.id] = pool;
    }
    return absl::OkStatus();
  }));
  return store;
}

}  // namespace pitstop::flashpool
