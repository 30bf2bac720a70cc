#include "flashpool_service.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pitstop/sdk/log.h"
#include "pitstop/sdk/properties.h"
#include "pitstop/sdk/status.h"

namespace pitstop::flashpool {
namespace {

namespace v1 = ::pitstop::driver::v1;

constexpr char kPool[] = "storage_pool";
constexpr char kVolume[] = "volume";
constexpr char kSnapshot[] = "snapshot";

constexpr uint64_t kFallbackMinIops = 100;
constexpr uint64_t kFallbackMaxIops = 15000;
constexpr uint64_t kFallbackBurstPercent = 150;
// Larger IOPS properties are surely a typo.
constexpr int64_t kMaxIopsProperty = 1000000000000000;  // 1e15
constexpr uint32_t kIscsiPort = 3260;

// The properties naming the array; without them the driver cannot know which
// array to talk to.
absl::Status RequireArrayProperties(const v1::CallContext& context) {
  const sdk::Properties properties(context);
  PITSTOP_RETURN_IF_ERROR(properties.RequireStrings(
      {"management_vip", "storage_vip", "admin_username", "admin_password"},
      "flashpool needs management_vip, storage_vip, admin_username and "
      "admin_password to know which array to talk to"));
  return absl::OkStatus();
}

// Only called once RequireArrayProperties has passed.
std::string StorageVip(const v1::CallContext& context) {
  return sdk::Properties(context).GetString("storage_vip").value_or("");
}

// An IOPS-related number property, `fallback` when absent (the daemon fills
// in driver.yaml's defaults, but a driver run standalone may get none).
absl::StatusOr<uint64_t> IopsProperty(const v1::CallContext& context,
                                      absl::string_view key,
                                      uint64_t fallback) {
  absl::StatusOr<int64_t> value = sdk::Properties(context).GetIntegerOr(
      key, static_cast<int64_t>(fallback));
  // Beyond int64 is OUT_OF_RANGE to the SDK, but to the caller it is a bad
  // property bag like any other.
  if (!value.ok()) return absl::InvalidArgumentError(value.status().message());
  if (*value < 0 || *value > kMaxIopsProperty) {
    return absl::InvalidArgumentError(absl::StrCat(
        "property '", key, "' is ", *value, "; it must be from 0 to ",
        kMaxIopsProperty, " (0 means the built-in default)"));
  }
  return static_cast<uint64_t>(*value);
}

std::string VolumeIqn(const std::string& pool_id,
                      const std::string& volume_id) {
  return absl::StrCat("iqn.2010-01.com.flashpool:", pool_id, ".", volume_id);
}

absl::StatusOr<PoolRecord*> FindPool(ArrayState& state, const std::string& id) {
  auto it = state.pools.find(id);
  if (it == state.pools.end()) {
    return absl::NotFoundError(absl::StrCat(
        "storage pool '", id,
        "' does not exist; create it with InitializePool, or leave pool_id "
        "empty to use the built-in pool '",
        kDefaultPoolId, "'"));
  }
  return &it->second;
}

absl::StatusOr<VolumeRecord*> FindVolume(ArrayState& state,
                                         const std::string& id) {
  auto it = state.volumes.find(id);
  if (it == state.volumes.end()) {
    return absl::NotFoundError(absl::StrCat(
        "volume '", id, "' does not exist on this array; check the volume id"));
  }
  return &it->second;
}

absl::StatusOr<SnapshotRecord*> FindSnapshot(ArrayState& state,
                                             const std::string& id) {
  auto it = state.snapshots.find(id);
  if (it == state.snapshots.end()) {
    return absl::NotFoundError(
        absl::StrCat("snapshot '", id,
                     "' does not exist on this array; check the snapshot id"));
  }
  return &it->second;
}

absl::Status RefuseIfInMaintenance(const PoolRecord& pool,
                                   absl::string_view what) {
  if (!pool.maintenance) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("storage pool '", pool.id, "' is in maintenance and cannot ",
                   what, "; call CancelMaintain on it first"));
}

struct Iops {
  uint64_t min = 0;
  uint64_t max = 0;
  uint64_t burst = 0;
};

// Zero asks for the property default, then the built-in default.
absl::StatusOr<Iops> ResolveIops(const v1::CallContext& context,
                                 const std::string& volume_id,
                                 uint64_t min_iops, uint64_t max_iops) {
  Iops iops;
  iops.min = min_iops;
  iops.max = max_iops;
  if (iops.min == 0) {
    absl::StatusOr<uint64_t> value =
        IopsProperty(context, "default_min_iops", kFallbackMinIops);
    if (!value.ok()) return value.status();
    iops.min = *value;
  }
  if (iops.max == 0) {
    absl::StatusOr<uint64_t> value =
        IopsProperty(context, "default_max_iops", kFallbackMaxIops);
    if (!value.ok()) return value.status();
    iops.max = *value;
  }
  if (iops.min == 0) iops.min = kFallbackMinIops;
  if (iops.max == 0) iops.max = kFallbackMaxIops;
  if (iops.min > iops.max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "volume '", volume_id, "': min IOPS ", iops.min, " exceeds max IOPS ",
        iops.max,
        "; lower the min IOPS or raise the max IOPS (defaults come from the "
        "default_min_iops and default_max_iops properties)"));
  }
  absl::StatusOr<uint64_t> percent =
      IopsProperty(context, "burst_iops_percent", kFallbackBurstPercent);
  if (!percent.ok()) return percent.status();
  // max * percent / 100 without wrapping around for a huge max IOPS:
  // saturates only when the burst itself does not fit.
  const uint64_t hundreds = iops.max / 100;
  const uint64_t rest = (iops.max % 100) * *percent / 100;
  const uint64_t limit = std::numeric_limits<uint64_t>::max();
  const uint64_t burst = *percent != 0 && hundreds > (limit - rest) / *percent
                             ? limit
                             : hundreds * *percent + rest;
  iops.burst = std::max(iops.max, burst);
  return iops;
}

struct PoolUsage {
  uint64_t bytes = 0;
  uint64_t min_iops = 0;
};

PoolUsage UsageOf(const ArrayState& state, const std::string& pool_id,
                  const std::string& except_volume_id = "") {
  PoolUsage usage;
  for (const auto& [id, volume] : state.volumes) {
    if (volume.pool_id != pool_id || id == except_volume_id) continue;
    usage.bytes += volume.size_bytes;
    usage.min_iops += volume.min_iops;
  }
  return usage;
}

// Whether `pool` can hold `volume_id` with the given size and guaranteed
// IOPS, counting every other volume in it.
absl::Status CheckCapacity(const ArrayState& state, const PoolRecord& pool,
                           const std::string& volume_id, uint64_t size_bytes,
                           uint64_t min_iops) {
  const PoolUsage used = UsageOf(state, pool.id, volume_id);
  const uint64_t free_bytes =
      pool.capacity_bytes > used.bytes ? pool.capacity_bytes - used.bytes : 0;
  if (size_bytes > free_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "storage pool '", pool.id, "' has ", free_bytes,
        " bytes free but volume '", volume_id, "' needs ", size_bytes,
        "; delete volumes, use a smaller size or another pool"));
  }
  if (pool.capacity_iops != 0 &&
      used.min_iops + min_iops > pool.capacity_iops) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "storage pool '", pool.id, "' can guarantee ",
        pool.capacity_iops - std::min(pool.capacity_iops, used.min_iops),
        " more IOPS but volume '", volume_id, "' asks for a minimum of ",
        min_iops, "; lower min IOPS or use another pool"));
  }
  return absl::OkStatus();
}

void FillVolumeDetails(const VolumeRecord& volume,
                       const v1::CallContext& context,
                       google::protobuf::Map<std::string, std::string>* out) {
  (*out)["vendor_volume_id"] = absl::StrCat(volume.vendor_id);
  (*out)["pool_id"] = volume.pool_id;
  (*out)["size_bytes"] = absl::StrCat(volume.size_bytes);
  (*out)["min_iops"] = absl::StrCat(volume.min_iops);
  (*out)["max_iops"] = absl::StrCat(volume.max_iops);
  (*out)["burst_iops"] = absl::StrCat(volume.burst_iops);
  (*out)["target_portal"] = absl::StrCat(StorageVip(context), ":", kIscsiPort);
  if (!volume.source_snapshot_id.empty()) {
    (*out)["source_snapshot_id"] = volume.source_snapshot_id;
  }
}

// Runs a mutating operation: checks the properties and the resource, replays
// a remembered result for a known operation id, else applies `apply` and
// remembers its response.
template <typename Response>
grpc::Status Mutate(
    FlashpoolStore& store, std::atomic<int64_t>& calls_handled,
    absl::string_view method, const v1::CallContext& context,
    absl::string_view resource_type, Response* response,
    absl::FunctionRef<absl::Status(ArrayState&, const std::string&)> apply) {
  bool replayed = false;
  absl::Status status = [&]() -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(RequireArrayProperties(context));
    absl::StatusOr<std::string> id =
        sdk::RequireResource(context, resource_type);
    if (!id.ok()) return id.status();
    return store.Update([&](ArrayState& state) {
      return state.operations.Run(
          context.operation_id(), method, *id, *response,
          [&] { return apply(state, *id); }, &replayed);
    });
  }();
  calls_handled.fetch_add(1, std::memory_order_relaxed);
  sdk::LogCall(method, context, status, replayed);
  return sdk::ToGrpcStatus(status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<FlashpoolService>> FlashpoolService::Create(
    const std::string& state_dir) {
  absl::StatusOr<std::unique_ptr<FlashpoolStore>> store =
      OpenFlashpoolStore(state_dir);
  if (!store.ok()) return store.status();
  return std::unique_ptr<FlashpoolService>(
      new FlashpoolService(*std::move(store)));
}

FlashpoolService::FlashpoolService(std::unique_ptr<FlashpoolStore> store)
    : store_(std::move(store)) {}

grpc::Status FlashpoolService::InitializePool(
    grpc::ServerContext*, const v1::InitializePoolRequest* request,
    v1::InitializePoolResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, calls_handled_, "InitializePool", context, kPool, response,
      [&](ArrayState& state, const std::string& id) -> absl::Status {
        if (state.pools.count(id)) {
          return absl::AlreadyExistsError(absl::StrCat(
              "storage pool '", id,
              "' already exists; use another pool id or delete it first"));
        }
        if (request->capacity_bytes() == 0) {
          return absl::InvalidArgumentError(
              absl::StrCat("storage pool '", id,
                           "': capacity_bytes must be greater than 0"));
        }
        PoolRecord pool;
        pool.id = id;
        pool.name = request->name().empty() ? id : request->name();
        pool.url = request->url();
        pool.zone = request->zone();
        pool.capacity_bytes = request->capacity_bytes();
        pool.capacity_iops = request->capacity_iops();
        pool.tags.assign(request->tags().begin(), request->tags().end());
        state.pools[id] = pool;
        response->set_host(StorageVip(context));
        response->set_port(kIscsiPort);
        response->set_path(absl::StrCat("/", id));
        (*response->mutable_details())["capacity_bytes"] =
            absl::StrCat(pool.capacity_bytes);
        (*response->mutable_details())["capacity_iops"] =
            absl::StrCat(pool.capacity_iops);
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::AttachPool(grpc::ServerContext*,
                                          const v1::AttachPoolRequest* request,
                                          v1::AttachPoolResponse* response) {
  return Mutate(
      *store_, calls_handled_, "AttachPool", request->context(), kPool,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<PoolRecord*> pool = FindPool(state, id);
        if (!pool.ok()) return pool.status();
        std::string scope;
        switch (request->scope()) {
          case v1::POOL_SCOPE_CLUSTER:
            scope = "cluster";
            break;
          case v1::POOL_SCOPE_ZONE:
            scope = "zone";
            break;
          case v1::POOL_SCOPE_HOST:
            scope = "host";
            break;
          default:
            return absl::InvalidArgumentError(absl::StrCat(
                "storage pool '", id,
                "': scope must be POOL_SCOPE_CLUSTER, POOL_SCOPE_ZONE or "
                "POOL_SCOPE_HOST"));
        }
        if (request->scope_id().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "storage pool '", id, "': scope_id is empty; name the ", scope,
              " to attach the pool to"));
        }
        (*pool)->scope = scope;
        (*pool)->scope_id = request->scope_id();
        (*pool)->hypervisor = request->hypervisor();
        (*response->mutable_details())["scope"] = scope;
        (*response->mutable_details())["scope_id"] = request->scope_id();
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::MaintainPool(
    grpc::ServerContext*, const v1::MaintainPoolRequest* request,
    v1::MaintainPoolResponse* response) {
  return Mutate(*store_, calls_handled_, "MaintainPool", request->context(),
                kPool, response,
                [&](ArrayState& state, const std::string& id) -> absl::Status {
                  absl::StatusOr<PoolRecord*> pool = FindPool(state, id);
                  if (!pool.ok()) return pool.status();
                  (*pool)->maintenance = true;
                  return absl::OkStatus();
                });
}

grpc::Status FlashpoolService::CancelMaintain(
    grpc::ServerContext*, const v1::CancelMaintainRequest* request,
    v1::CancelMaintainResponse* response) {
  return Mutate(*store_, calls_handled_, "CancelMaintain", request->context(),
                kPool, response,
                [&](ArrayState& state, const std::string& id) -> absl::Status {
                  absl::StatusOr<PoolRecord*> pool = FindPool(state, id);
                  if (!pool.ok()) return pool.status();
                  (*pool)->maintenance = false;
                  return absl::OkStatus();
                });
}

grpc::Status FlashpoolService::DeletePool(grpc::ServerContext*,
                                          const v1::DeletePoolRequest* request,
                                          v1::DeletePoolResponse* response) {
  return Mutate(
      *store_, calls_handled_, "DeletePool", request->context(), kPool,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<PoolRecord*> pool = FindPool(state, id);
        if (!pool.ok()) return pool.status();
        if (id == kDefaultPoolId) {
          return absl::FailedPreconditionError(
              "storage pool 'default' is built into the array and cannot be "
              "deleted");
        }
        std::vector<std::string> volumes, snapshots;
        for (const auto& [vid, v] : state.volumes) {
          if (v.pool_id == id) volumes.push_back(vid);
        }
        for (const auto& [sid, s] : state.snapshots) {
          if (s.pool_id == id) snapshots.push_back(sid);
        }
        if (!volumes.empty() || !snapshots.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "storage pool '", id, "' still holds ", volumes.size(),
              " volume(s) [", absl::StrJoin(volumes, ", "), "] and ",
              snapshots.size(), " snapshot(s) [",
              absl::StrJoin(snapshots, ", "),
              "]; delete them before deleting the pool"));
        }
        state.pools.erase(id);
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::CreateVolume(
    grpc::ServerContext*, const v1::CreateVolumeRequest* request,
    v1::CreateVolumeResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, calls_handled_, "CreateVolume", context, kVolume, response,
      [&](ArrayState& state, const std::string& id) -> absl::Status {
        if (state.volumes.count(id)) {
          return absl::AlreadyExistsError(absl::StrCat(
              "volume '", id,
              "' already exists (created by another operation); use a new "
              "volume id, or retry with the original operation id"));
        }
        if (request->clone_source_case() ==
            v1::CreateVolumeRequest::kTemplateId) {
          return absl::UnimplementedError(absl::StrCat(
              "volume '", id, "': flashpool cannot clone from template '",
              request->template_id(),
              "'; create an empty volume and copy the template onto it"));
        }
        std::string pool_id =
            request->pool_id().empty() ? kDefaultPoolId : request->pool_id();
        uint64_t size = request->size_bytes();
        const SnapshotRecord* source = nullptr;
        if (request->clone_source_case() ==
            v1::CreateVolumeRequest::kSnapshotId) {
          absl::StatusOr<SnapshotRecord*> snapshot =
              FindSnapshot(state, request->snapshot_id());
          if (!snapshot.ok()) return snapshot.status();
          source = *snapshot;
          if (!request->pool_id().empty() &&
              request->pool_id() != source->pool_id) {
            return absl::InvalidArgumentError(absl::StrCat(
                "volume '", id, "': snapshot '", source->id,
                "' is in storage pool '", source->pool_id,
                "' and clones stay in their snapshot's pool; leave pool_id "
                "empty or set it to '",
                source->pool_id, "'"));
          }
          pool_id = source->pool_id;
          if (size == 0) size = source->size_bytes;
          if (size < source->size_bytes) {
            return absl::InvalidArgumentError(absl::StrCat(
                "volume '", id, "': size_bytes ", size,
                " is smaller than snapshot '", source->id, "' (",
                source->size_bytes, " bytes); ask for at least that much"));
          }
        }
        if (size == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "volume '", id, "': size_bytes must be greater than 0"));
        }
        absl::StatusOr<PoolRecord*> pool = FindPool(state, pool_id);
        if (!pool.ok()) return pool.status();
        PITSTOP_RETURN_IF_ERROR(
            RefuseIfInMaintenance(**pool, "take new volumes"));
        absl::StatusOr<Iops> iops =
            ResolveIops(context, id, request->min_iops(), request->max_iops());
        if (!iops.ok()) return iops.status();
        PITSTOP_RETURN_IF_ERROR(
            CheckCapacity(state, **pool, id, size, iops->min));

        VolumeRecord volume;
        volume.id = id;
        volume.pool_id = pool_id;
        volume.name = request->name().empty() ? id : request->name();
        volume.vendor_id = state.next_vendor_id++;
        volume.size_bytes = size;
        volume.min_iops = iops->min;
        volume.max_iops = iops->max;
        volume.burst_iops = iops->burst;
        if (source != nullptr) volume.source_snapshot_id = source->id;
        response->set_path(VolumeIqn(pool_id, id));
        response->set_vendor_volume_id(absl::StrCat(volume.vendor_id));
        FillVolumeDetails(volume, context, response->mutable_details());
        state.volumes[id] = std::move(volume);
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::DeleteVolume(
    grpc::ServerContext*, const v1::DeleteVolumeRequest* request,
    v1::DeleteVolumeResponse* response) {
  return Mutate(
      *store_, calls_handled_, "DeleteVolume", request->context(), kVolume,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VolumeRecord*> volume = FindVolume(state, id);
        if (!volume.ok()) return volume.status();
        std::vector<std::string> snapshots;
        for (const auto& [sid, s] : state.snapshots) {
          if (s.volume_id == id) snapshots.push_back(sid);
        }
        if (!snapshots.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("volume '", id, "' still has snapshot(s) [",
                           absl::StrJoin(snapshots, ", "),
                           "]; delete them before deleting the volume"));
        }
        if (!(*volume)->grants.empty()) {
          std::vector<std::string> hosts;
          for (const auto& [host, initiator] : (*volume)->grants) {
            hosts.push_back(absl::StrCat(host, " (", initiator, ")"));
          }
          return absl::FailedPreconditionError(absl::StrCat(
              "volume '", id, "' is still accessible to ",
              absl::StrJoin(hosts, ", "),
              "; revoke access (RevokeAccess) before deleting the volume"));
        }
        state.volumes.erase(id);
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::ResizeVolume(
    grpc::ServerContext*, const v1::ResizeVolumeRequest* request,
    v1::ResizeVolumeResponse* response) {
  const v1::CallContext& context = request->context();
  return Mutate(
      *store_, calls_handled_, "ResizeVolume", context, kVolume, response,
      [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VolumeRecord*> found = FindVolume(state, id);
        if (!found.ok()) return found.status();
        VolumeRecord& volume = **found;
        uint64_t size = volume.size_bytes;
        if (request->has_new_size_bytes()) {
          size = request->new_size_bytes();
          if (size == 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                "volume '", id, "': new_size_bytes must be greater than 0"));
          }
          if (size < volume.size_bytes && !request->allow_shrink()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "volume '", id, "' is ", volume.size_bytes,
                " bytes; shrinking it to ", size,
                " can destroy data: set allow_shrink to do it anyway"));
          }
        }
        absl::StatusOr<Iops> iops =
            ResolveIops(context, id,
                        request->has_new_min_iops() ? request->new_min_iops()
                                                    : volume.min_iops,
                        request->has_new_max_iops() ? request->new_max_iops()
                                                    : volume.max_iops);
        if (!iops.ok()) return iops.status();
        absl::StatusOr<PoolRecord*> pool = FindPool(state, volume.pool_id);
        if (!pool.ok()) return pool.status();
        PITSTOP_RETURN_IF_ERROR(
            RefuseIfInMaintenance(**pool, "resize volumes"));
        PITSTOP_RETURN_IF_ERROR(
            CheckCapacity(state, **pool, id, size, iops->min));
        volume.size_bytes = size;
        volume.min_iops = iops->min;
        volume.max_iops = iops->max;
        volume.burst_iops = iops->burst;
        FillVolumeDetails(volume, context, response->mutable_details());
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::TakeSnapshot(
    grpc::ServerContext*, const v1::TakeSnapshotRequest* request,
    v1::TakeSnapshotResponse* response) {
  return Mutate(
      *store_, calls_handled_, "TakeSnapshot", request->context(), kSnapshot,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        if (request->volume_id().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("snapshot '", id,
                           "': volume_id is empty; name the volume to "
                           "snapshot"));
        }
        if (state.snapshots.count(id)) {
          return absl::AlreadyExistsError(absl::StrCat(
              "snapshot '", id,
              "' already exists; use a new snapshot id, or retry with the "
              "original operation id"));
        }
        absl::StatusOr<VolumeRecord*> volume =
            FindVolume(state, request->volume_id());
        if (!volume.ok()) return volume.status();
        SnapshotRecord snapshot;
        snapshot.id = id;
        snapshot.volume_id = (*volume)->id;
        snapshot.pool_id = (*volume)->pool_id;
        snapshot.name = request->name().empty() ? id : request->name();
        snapshot.vendor_id = state.next_vendor_id++;
        snapshot.size_bytes = (*volume)->size_bytes;
        response->set_path(absl::StrCat(
            VolumeIqn(snapshot.pool_id, snapshot.volume_id), "@", id));
        (*response->mutable_details())["vendor_snapshot_id"] =
            absl::StrCat(snapshot.vendor_id);
        (*response->mutable_details())["volume_id"] = snapshot.volume_id;
        (*response->mutable_details())["size_bytes"] =
            absl::StrCat(snapshot.size_bytes);
        state.snapshots[id] = std::move(snapshot);
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::DeleteSnapshot(
    grpc::ServerContext*, const v1::DeleteSnapshotRequest* request,
    v1::DeleteSnapshotResponse* response) {
  return Mutate(
      *store_, calls_handled_, "DeleteSnapshot", request->context(), kSnapshot,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<SnapshotRecord*> snapshot = FindSnapshot(state, id);
        if (!snapshot.ok()) return snapshot.status();
        state.snapshots.erase(id);
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::RevertSnapshot(
    grpc::ServerContext*, const v1::RevertSnapshotRequest* request,
    v1::RevertSnapshotResponse* response) {
  return Mutate(
      *store_, calls_handled_, "RevertSnapshot", request->context(), kVolume,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VolumeRecord*> volume = FindVolume(state, id);
        if (!volume.ok()) return volume.status();
        if (request->snapshot_id().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("volume '", id,
                           "': snapshot_id is empty; name the snapshot "
                           "to revert to"));
        }
        absl::StatusOr<SnapshotRecord*> snapshot =
            FindSnapshot(state, request->snapshot_id());
        if (!snapshot.ok()) return snapshot.status();
        if ((*snapshot)->volume_id != id) {
          return absl::InvalidArgumentError(absl::StrCat(
              "snapshot '", (*snapshot)->id, "' belongs to volume '",
              (*snapshot)->volume_id, "', not to volume '", id,
              "'; a volume can only revert to its own snapshots"));
        }
        absl::StatusOr<PoolRecord*> pool = FindPool(state, (*volume)->pool_id);
        if (!pool.ok()) return pool.status();
        PITSTOP_RETURN_IF_ERROR(CheckCapacity(
            state, **pool, id, (*snapshot)->size_bytes, (*volume)->min_iops));
        (*volume)->size_bytes = (*snapshot)->size_bytes;
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::GrantAccess(
    grpc::ServerContext*, const v1::GrantAccessRequest* request,
    v1::GrantAccessResponse* response) {
  return Mutate(
      *store_, calls_handled_, "GrantAccess", request->context(), kVolume,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VolumeRecord*> volume = FindVolume(state, id);
        if (!volume.ok()) return volume.status();
        if (request->host().empty() || request->initiator().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "volume '", id,
              "': GrantAccess needs both host and initiator (the host's "
              "iSCSI IQN)"));
        }
        (*volume)->grants.emplace(request->host(), request->initiator());
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::RevokeAccess(
    grpc::ServerContext*, const v1::RevokeAccessRequest* request,
    v1::RevokeAccessResponse* response) {
  return Mutate(
      *store_, calls_handled_, "RevokeAccess", request->context(), kVolume,
      response, [&](ArrayState& state, const std::string& id) -> absl::Status {
        absl::StatusOr<VolumeRecord*> volume = FindVolume(state, id);
        if (!volume.ok()) return volume.status();
        if (request->host().empty() || request->initiator().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "volume '", id,
              "': RevokeAccess needs both host and initiator (the host's "
              "iSCSI IQN)"));
        }
        (*volume)->grants.erase({request->host(), request->initiator()});
        return absl::OkStatus();
      });
}

grpc::Status FlashpoolService::GetStats(grpc::ServerContext*,
                                        const v1::GetStatsRequest* request,
                                        v1::GetStatsResponse* response) {
  const v1::CallContext& context = request->context();
  absl::Status status = [&]() -> absl::Status {
    PITSTOP_RETURN_IF_ERROR(RequireArrayProperties(context));
    const std::string& type = context.resource().type();
    if (type != kPool && type != kVolume) {
      return absl::InvalidArgumentError(
          absl::StrCat("GetStats acts on a storage_pool or a volume but "
                       "context.resource.type is '",
                       type, "'"));
    }
    absl::StatusOr<std::string> id = sdk::RequireResource(context, type);
    if (!id.ok()) return id.status();
    return store_->Read([&](const ArrayState& state) -> absl::Status {
      if (type == kPool) {
        auto it = state.pools.find(*id);
        if (it == state.pools.end()) {
          ArrayState copy;  // FindPool's message, without mutating access.
          return FindPool(copy, *id).status();
        }
        const PoolUsage used = UsageOf(state, *id);
        response->set_capacity_bytes(it->second.capacity_bytes);
        response->set_used_bytes(used.bytes);
        response->set_capacity_iops(it->second.capacity_iops);
        response->set_used_iops(used.min_iops);
      } else {
        auto it = state.volumes.find(*id);
        if (it == state.volumes.end()) {
          ArrayState copy;
          return FindVolume(copy, *id).status();
        }
        response->set_capacity_bytes(it->second.size_bytes);
        response->set_used_bytes(it->second.size_bytes);
        response->set_capacity_iops(it->second.max_iops);
        response->set_used_iops(0);
      }
      return absl::OkStatus();
    });
  }();
  if (!status.ok()) response->Clear();
  calls_handled_.fetch_add(1, std::memory_order_relaxed);
  sdk::LogCall("GetStats", context, status);
  return sdk::ToGrpcStatus(status);
}

grpc::Status FlashpoolService::GetCapabilities(
    grpc::ServerContext*, const v1::GetStorageCapabilitiesRequest* request,
    v1::GetStorageCapabilitiesResponse* response) {
  auto& caps = *response->mutable_capabilities();
  caps["STORAGE_SYSTEM_SNAPSHOT"] = "true";
  caps["CAN_REVERT_VOLUME_TO_SNAPSHOT"] = "true";
  caps["CAN_CREATE_VOLUME_FROM_SNAPSHOT"] = "true";
  caps["calls_handled"] = std::to_string(
      calls_handled_.fetch_add(1, std::memory_order_relaxed) + 1);
  sdk::LogCall("GetCapabilities", request->context(), absl::OkStatus());
  return grpc::Status::OK;
}

}  // namespace pitstop::flashpool
