#include "flashpool_service.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "pitstop/sdk/testing/temp_dir.h"

namespace pitstop::flashpool {
namespace {

namespace v1 = ::pitstop::driver::v1;
using ::google::protobuf::util::MessageDifferencer;

constexpr uint64_t kGiB = uint64_t{1} << 30;

// A call context for `type`/`id` with the array's required properties.
v1::CallContext Context(const std::string& type, const std::string& id,
                        const std::string& operation_id = "") {
  v1::CallContext context;
  context.mutable_resource()->set_type(type);
  context.mutable_resource()->set_id(id);
  context.set_operation_id(operation_id);
  context.set_caller("test");
  auto& props = *context.mutable_properties();
  props["management_vip"].set_string_value("10.0.0.10");
  props["storage_vip"].set_string_value("10.0.1.10");
  props["admin_username"].set_string_value("admin");
  props["admin_password"].set_string_value("s3cret");
  return context;
}

// The driver as the daemon sees it, called in-process.
class Fixture {
 public:
  Fixture() { Reopen(); }

  // A new service on the same state directory, as after a restart.
  void Reopen() {
    service_.reset();
    auto service = FlashpoolService::Create(dir_.path());
    REQUIRE(service.ok());
    service_ = *std::move(service);
  }

  FlashpoolService& service() { return *service_; }

  grpc::Status CreateVolume(const std::string& id, uint64_t size,
                            const std::string& pool = "",
                            v1::CreateVolumeResponse* out = nullptr,
                            const std::string& operation_id = "") {
    v1::CreateVolumeRequest request;
    *request.mutable_context() = Context("volume", id, operation_id);
    request.set_pool_id(pool);
    request.set_size_bytes(size);
    v1::CreateVolumeResponse response;
    return service_->CreateVolume(&server_context_, &request,
                                  out != nullptr ? out : &response);
  }

  grpc::Status InitializePool(const std::string& id, uint64_t capacity,
                              uint64_t iops = 0) {
    v1::InitializePoolRequest request;
    *request.mutable_context() = Context("storage_pool", id);
    request.set_capacity_bytes(capacity);
    request.set_capacity_iops(iops);
    request.set_name(id + " pool");
    v1::InitializePoolResponse response;
    return service_->InitializePool(&server_context_, &request, &response);
  }

  grpc::Status TakeSnapshot(const std::string& id, const std::string& volume) {
    v1::TakeSnapshotRequest request;
    *request.mutable_context() = Context("snapshot", id);
    request.set_volume_id(volume);
    v1::TakeSnapshotResponse response;
    return service_->TakeSnapshot(&server_context_, &request, &response);
  }

  v1::GetStatsResponse Stats(const std::string& type, const std::string& id) {
    v1::GetStatsRequest request;
    *request.mutable_context() = Context(type, id);
    v1::GetStatsResponse response;
    grpc::Status status =
        service_->GetStats(&server_context_, &request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response;
  }

  grpc::ServerContext server_context_;

 private:
  sdk::testing::TempDir dir_;
  std::unique_ptr<FlashpoolService> service_;
};

TEST_CASE(
    "CreateVolume returns an IQN, a vendor id and IOPS from the "
    "property defaults",
    "[flashpool]") {
  Fixture f;
  v1::CreateVolumeRequest request;
  *request.mutable_context() = Context("volume", "vol-1");
  (*request.mutable_context()->mutable_properties())["default_min_iops"]
      .set_number_value("200");
  (*request.mutable_context()->mutable_properties())["default_max_iops"]
      .set_number_value("2000");
  request.set_size_bytes(10 * kGiB);
  v1::CreateVolumeResponse response;
  grpc::Status status =
      f.service().CreateVolume(&f.server_context_, &request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(response.path() == "iqn.2010-01.com.flashpool:default.vol-1");
  CHECK(!response.vendor_volume_id().empty());
  CHECK(response.vendor_volume_id().find_first_not_of("0123456789") ==
        std::string::npos);
  CHECK(response.details().at("min_iops") == "200");
  CHECK(response.details().at("max_iops") == "2000");
  CHECK(response.details().at("burst_iops") == "3000");  // 150% default.
  CHECK(response.details().at("target_portal") == "10.0.1.10:3260");
}

TEST_CASE(
    "CreateVolume falls back to 100/15000 IOPS without properties "
    "and honours burst_iops_percent",
    "[flashpool]") {
  Fixture f;
  v1::CreateVolumeRequest request;
  *request.mutable_context() = Context("volume", "vol-1");
  (*request.mutable_context()->mutable_properties())["burst_iops_percent"]
      .set_number_value("200");
  request.set_size_bytes(kGiB);
  v1::CreateVolumeResponse response;
  REQUIRE(
      f.service().CreateVolume(&f.server_context_, &request, &response).ok());
  CHECK(response.details().at("min_iops") == "100");
  CHECK(response.details().at("max_iops") == "15000");
  CHECK(response.details().at("burst_iops") == "30000");
}

TEST_CASE(
    "CreateVolume reads IOPS properties in any decimal notation and "
    "refuses bad ones",
    "[flashpool]") {
  Fixture f;
  struct Case {
    const char* key;
    const char* text;
    grpc::StatusCode code;
  };
  const Case cases[] = {
      {"default_max_iops", "2e3", grpc::StatusCode::OK},
      {"default_max_iops", "2000.0", grpc::StatusCode::OK},
      {"default_max_iops", "2000.5", grpc::StatusCode::INVALID_ARGUMENT},
      {"default_min_iops", "-5", grpc::StatusCode::INVALID_ARGUMENT},
      {"default_min_iops", "1e16", grpc::StatusCode::INVALID_ARGUMENT},
      {"burst_iops_percent", "1e30", grpc::StatusCode::INVALID_ARGUMENT},
      {"burst_iops_percent", "lots", grpc::StatusCode::INVALID_ARGUMENT},
  };
  int n = 0;
  for (const Case& c : cases) {
    INFO(c.key << " = " << c.text);
    const std::string id = "vol-" + std::to_string(++n);
    v1::CreateVolumeRequest request;
    *request.mutable_context() = Context("volume", id);
    (*request.mutable_context()->mutable_properties())[c.key].set_number_value(
        c.text);
    request.set_size_bytes(kGiB);
    v1::CreateVolumeResponse response;
    grpc::Status status =
        f.service().CreateVolume(&f.server_context_, &request, &response);
    INFO(status.error_message());
    CHECK(status.error_code() == c.code);
    if (status.ok()) {
      CHECK(response.details().at("max_iops") == "2000");
    } else {
      CHECK_THAT(status.error_message(),
                 Catch::Matchers::Contains(std::string("'") + c.key + "'"));
    }
  }

  // A property of the wrong type is refused, not silently defaulted.
  v1::CreateVolumeRequest request;
  *request.mutable_context() = Context("volume", "vol-typed");
  (*request.mutable_context()->mutable_properties())["default_max_iops"]
      .set_string_value("2000");
  request.set_size_bytes(kGiB);
  v1::CreateVolumeResponse response;
  grpc::Status status =
      f.service().CreateVolume(&f.server_context_, &request, &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(),
             Catch::Matchers::Contains("is a string, not a number"));

  (*request.mutable_context()->mutable_properties())["admin_username"]
      .set_bool_value(true);
  status = f.service().CreateVolume(&f.server_context_, &request, &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(),
             Catch::Matchers::Contains("'admin_username' is a boolean"));
}

TEST_CASE("burst IOPS are exact for huge max IOPS and saturate, not wrap",
          "[flashpool]") {
  Fixture f;
  struct Case {
    uint64_t max_iops;
    std::string burst;
  };
  const Case cases[] = {
      {uint64_t{1} << 63, "13835058055282163712"},  // 1.5 * 2^63, exactly.
      {std::numeric_limits<uint64_t>::max(),
       std::to_string(std::numeric_limits<uint64_t>::max())},
  };
  int n = 0;
  for (const Case& c : cases) {
    INFO(c.max_iops);
    v1::CreateVolumeRequest request;
    *request.mutable_context() =
        Context("volume", "vol-" + std::to_string(++n));
    request.set_size_bytes(kGiB);
    request.set_max_iops(c.max_iops);
    v1::CreateVolumeResponse response;
    grpc::Status status =
        f.service().CreateVolume(&f.server_context_, &request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    CHECK(response.details().at("burst_iops") == c.burst);
  }
}

TEST_CASE("CreateVolume with the same operation id returns the same result",
          "[flashpool]") {
  Fixture f;
  v1::CreateVolumeResponse first, again;
  REQUIRE(f.CreateVolume("vol-1", kGiB, "", &first, "op-1").ok());
  REQUIRE(f.CreateVolume("vol-1", kGiB, "", &again, "op-1").ok());
  CHECK(MessageDifferencer::Equals(again, first));

  grpc::Status other = f.CreateVolume("vol-1", kGiB, "", nullptr, "op-2");
  CHECK(other.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(other.error_message(), Catch::Matchers::Contains("'vol-1'"));

  grpc::Status reused = f.CreateVolume("vol-2", kGiB, "", nullptr, "op-1");
  CHECK(reused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(reused.error_message(),
             Catch::Matchers::Contains("already used for CreateVolume"));

  // Remembered across a restart too.
  f.Reopen();
  v1::CreateVolumeResponse after_restart;
  REQUIRE(f.CreateVolume("vol-1", kGiB, "", &after_restart, "op-1").ok());
  CHECK(MessageDifferencer::Equals(after_restart, first));
}

TEST_CASE("a repeated DeleteVolume with its operation id succeeds again",
          "[flashpool]") {
  Fixture f;
  REQUIRE(f.CreateVolume("vol-1", kGiB).ok());
  v1::DeleteVolumeRequest request;
  *request.mutable_context() = Context("volume", "vol-1", "del-1");
  v1::DeleteVolumeResponse response;
  REQUIRE(
      f.service().DeleteVolume(&f.server_context_, &request, &response).ok());
  CHECK(f.service().DeleteVolume(&f.server_context_, &request, &response).ok());
  request.mutable_context()->set_operation_id("del-2");
  CHECK(f.service()
            .DeleteVolume(&f.server_context_, &request, &response)
            .error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("every operation but GetCapabilities needs the array properties",
          "[flashpool]") {
  Fixture f;
  for (const char* key :
       {"management_vip", "storage_vip", "admin_username", "admin_password"}) {
    v1::CreateVolumeRequest request;
    *request.mutable_context() = Context("volume", "vol-1");
    request.mutable_context()->mutable_properties()->erase(key);
    request.set_size_bytes(kGiB);
    v1::CreateVolumeResponse response;
    grpc::Status status =
        f.service().CreateVolume(&f.server_context_, &request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(),
               Catch::Matchers::Contains(std::string("'") + key + "'"));
  }
  v1::GetStatsRequest stats;
  stats.mutable_context()->mutable_resource()->set_type("storage_pool");
  stats.mutable_context()->mutable_resource()->set_id("default");
  v1::GetStatsResponse stats_response;
  CHECK(f.service()
            .GetStats(&f.server_context_, &stats, &stats_response)
            .error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  v1::GetStorageCapabilitiesRequest caps;  // No properties, no resource.
  v1::GetStorageCapabilitiesResponse caps_response;
  REQUIRE(f.service()
              .GetCapabilities(&f.server_context_, &caps, &caps_response)
              .ok());
  CHECK(caps_response.capabilities().at("STORAGE_SYSTEM_SNAPSHOT") == "true");
  CHECK(caps_response.capabilities().at("CAN_REVERT_VOLUME_TO_SNAPSHOT") ==
        "true");
}

TEST_CASE("CreateVolume rejects bad requests with the right code",
          "[flashpool]") {
  Fixture f;
  SECTION("wrong resource type") {
    v1::CreateVolumeRequest request;
    *request.mutable_context() = Context("snapshot", "vol-1");
    request.set_size_bytes(kGiB);
    v1::CreateVolumeResponse response;
    grpc::Status status =
        f.service().CreateVolume(&f.server_context_, &request, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(),
               Catch::Matchers::Contains("set it to 'volume'"));
  }
  SECTION("zero size") {
    CHECK(f.CreateVolume("vol-1", 0).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("unknown pool") {
    grpc::Status status = f.CreateVolume("vol-1", kGiB, "nope");
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_THAT(status.error_message(), Catch::Matchers::Contains("'nope'"));
  }
  SECTION("min IOPS above max IOPS") {
    v1::CreateVolumeRequest request;
    *request.mutable_context() = Context("volume", "vol-1");
    request.set_size_bytes(kGiB);
    request.set_min_iops(5000);
    request.set_max_iops(1000);
    v1::CreateVolumeResponse response;
    CHECK(f.service()
              .CreateVolume(&f.server_context_, &request, &response)
              .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("capacity exceeded") {
    REQUIRE(f.InitializePool("small", 2 * kGiB).ok());
    REQUIRE(f.CreateVolume("vol-1", kGiB, "small").ok());
    grpc::Status status = f.CreateVolume("vol-2", 2 * kGiB, "small");
    CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK_THAT(status.error_message(), Catch::Matchers::Contains("'small'"));
  }
  SECTION("guaranteed IOPS exceeded") {
    REQUIRE(f.InitializePool("slow", 100 * kGiB, 150).ok());
    REQUIRE(f.CreateVolume("vol-1", kGiB, "slow").ok());  // min 100.
    CHECK(f.CreateVolume("vol-2", kGiB, "slow").error_code() ==
          grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  SECTION("templates cannot be cloned") {
    v1::CreateVolumeRequest request;
    *request.mutable_context() = Context("volume", "vol-1");
    request.set_size_bytes(kGiB);
    request.set_template_id("tmpl-1");
    v1::CreateVolumeResponse response;
    CHECK(f.service()
              .CreateVolume(&f.server_context_, &request, &response)
              .error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }
}

TEST_CASE(
    "pools are created, attached, maintained and deleted only when "
    "empty",
    "[flashpool]") {
  Fixture f;
  REQUIRE(f.InitializePool("gold", 100 * kGiB, 50000).ok());
  CHECK(f.InitializePool("gold", kGiB).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);

  v1::AttachPoolRequest attach;
  *attach.mutable_context() = Context("storage_pool", "gold");
  attach.set_scope(v1::POOL_SCOPE_CLUSTER);
  attach.set_scope_id("cluster-1");
  attach.set_hypervisor("KVM");
  v1::AttachPoolResponse attached;
  REQUIRE(f.service().AttachPool(&f.server_context_, &attach, &attached).ok());
  CHECK(attached.details().at("scope") == "cluster");

  v1::MaintainPoolRequest maintain;
  *maintain.mutable_context() = Context("storage_pool", "gold");
  v1::MaintainPoolResponse maintained;
  REQUIRE(f.service()
              .MaintainPool(&f.server_context_, &maintain, &maintained)
              .ok());
  CHECK(f.CreateVolume("vol-1", kGiB, "gold").error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  v1::CancelMaintainRequest cancel;
  *cancel.mutable_context() = Context("storage_pool", "gold");
  v1::CancelMaintainResponse cancelled;
  REQUIRE(
      f.service().CancelMaintain(&f.server_context_, &cancel, &cancelled).ok());
  REQUIRE(f.CreateVolume("vol-1", 3 * kGiB, "gold").ok());

  v1::GetStatsResponse stats = f.Stats("storage_pool", "gold");
  CHECK(stats.capacity_bytes() == 100 * kGiB);
  CHECK(stats.used_bytes() == 3 * kGiB);
  CHECK(stats.capacity_iops() == 50000);
  CHECK(stats.used_iops() == 100);

  v1::DeletePoolRequest del;
  *del.mutable_context() = Context("storage_pool", "gold");
  v1::DeletePoolResponse deleted;
  grpc::Status refused =
      f.service().DeletePool(&f.server_context_, &del, &deleted);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Matchers::Contains("vol-1"));

  v1::DeleteVolumeRequest del_volume;
  *del_volume.mutable_context() = Context("volume", "vol-1");
  v1::DeleteVolumeResponse volume_deleted;
  REQUIRE(f.service()
              .DeleteVolume(&f.server_context_, &del_volume, &volume_deleted)
              .ok());
  REQUIRE(f.service().DeletePool(&f.server_context_, &del, &deleted).ok());
  CHECK(f.CreateVolume("vol-2", kGiB, "gold").error_code() ==
        grpc::StatusCode::NOT_FOUND);

  *del.mutable_context() = Context("storage_pool", "default");
  CHECK(
      f.service().DeletePool(&f.server_context_, &del, &deleted).error_code() ==
      grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("volumes grow, shrink only when allowed, and change IOPS",
          "[flashpool]") {
  Fixture f;
  REQUIRE(f.CreateVolume("vol-1", 2 * kGiB).ok());
  v1::ResizeVolumeRequest request;
  *request.mutable_context() = Context("volume", "vol-1");
  v1::ResizeVolumeResponse response;

  request.set_new_size_bytes(4 * kGiB);
  REQUIRE(
      f.service().ResizeVolume(&f.server_context_, &request, &response).ok());
  CHECK(f.Stats("volume", "vol-1").capacity_bytes() == 4 * kGiB);

  request.set_new_size_bytes(kGiB);
  grpc::Status refused =
      f.service().ResizeVolume(&f.server_context_, &request, &response);
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(refused.error_message(),
             Catch::Matchers::Contains("allow_shrink"));
  request.set_allow_shrink(true);
  REQUIRE(
      f.service().ResizeVolume(&f.server_context_, &request, &response).ok());
  CHECK(f.Stats("volume", "vol-1").capacity_bytes() == kGiB);

  v1::ResizeVolumeRequest iops;
  *iops.mutable_context() = Context("volume", "vol-1");
  iops.set_new_max_iops(50);  // Below the current min of 100.
  CHECK(f.service()
            .ResizeVolume(&f.server_context_, &iops, &response)
            .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  iops.set_new_min_iops(20);
  REQUIRE(f.service().ResizeVolume(&f.server_context_, &iops, &response).ok());
  CHECK(response.details().at("min_iops") == "20");
  CHECK(response.details().at("max_iops") == "50");
  CHECK(response.details().at("burst_iops") == "75");
  CHECK(f.Stats("volume", "vol-1").capacity_iops() == 50);

  v1::ResizeVolumeRequest too_big;
  *too_big.mutable_context() = Context("volume", "vol-1");
  too_big.set_new_size_bytes(uint64_t{20} << 40);
  CHECK(f.service()
            .ResizeVolume(&f.server_context_, &too_big, &response)
            .error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);

  *too_big.mutable_context() = Context("volume", "ghost");
  CHECK(f.service()
            .ResizeVolume(&f.server_context_, &too_big, &response)
            .error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("snapshots are taken, cloned, reverted to and deleted",
          "[flashpool]") {
  Fixture f;
  REQUIRE(f.CreateVolume("vol-1", 2 * kGiB).ok());
  REQUIRE(f.CreateVolume("vol-2", kGiB).ok());
  REQUIRE(f.TakeSnapshot("snap-1", "vol-1").ok());
  CHECK(f.TakeSnapshot("snap-1", "vol-1").error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  CHECK(f.TakeSnapshot("snap-2", "ghost").error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(f.TakeSnapshot("snap-2", "").error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  // Clone: size 0 means the snapshot's size.
  v1::CreateVolumeRequest clone;
  *clone.mutable_context() = Context("volume", "clone-1");
  clone.set_snapshot_id("snap-1");
  v1::CreateVolumeResponse cloned;
  REQUIRE(f.service().CreateVolume(&f.server_context_, &clone, &cloned).ok());
  CHECK(cloned.details().at("size_bytes") == std::to_string(2 * kGiB));
  CHECK(cloned.details().at("source_snapshot_id") == "snap-1");

  // Grow vol-1, then revert: it gets the snapshot's size back.
  v1::ResizeVolumeRequest grow;
  *grow.mutable_context() = Context("volume", "vol-1");
  grow.set_new_size_bytes(8 * kGiB);
  v1::ResizeVolumeResponse grown;
  REQUIRE(f.service().ResizeVolume(&f.server_context_, &grow, &grown).ok());
  v1::RevertSnapshotRequest revert;
  *revert.mutable_context() = Context("volume", "vol-1");
  revert.set_snapshot_id("snap-1");
  v1::RevertSnapshotResponse reverted;
  REQUIRE(
      f.service().RevertSnapshot(&f.server_context_, &revert, &reverted).ok());
  CHECK(f.Stats("volume", "vol-1").capacity_bytes() == 2 * kGiB);

  *revert.mutable_context() = Context("volume", "vol-2");
  grpc::Status foreign =
      f.service().RevertSnapshot(&f.server_context_, &revert, &reverted);
  CHECK(foreign.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(foreign.error_message(),
             Catch::Matchers::Contains("belongs to volume 'vol-1'"));

  // A volume with snapshots cannot be deleted.
  v1::DeleteVolumeRequest del;
  *del.mutable_context() = Context("volume", "vol-1");
  v1::DeleteVolumeResponse deleted;
  grpc::Status refused =
      f.service().DeleteVolume(&f.server_context_, &del, &deleted);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Matchers::Contains("snap-1"));

  v1::DeleteSnapshotRequest del_snap;
  *del_snap.mutable_context() = Context("snapshot", "snap-1");
  v1::DeleteSnapshotResponse snap_deleted;
  REQUIRE(f.service()
              .DeleteSnapshot(&f.server_context_, &del_snap, &snap_deleted)
              .ok());
  CHECK(f.service()
            .DeleteSnapshot(&f.server_context_, &del_snap, &snap_deleted)
            .error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.service().DeleteVolume(&f.server_context_, &del, &deleted).ok());
}

TEST_CASE("access grants guard a volume against deletion until revoked",
          "[flashpool]") {
  Fixture f;
  REQUIRE(f.CreateVolume("vol-1", kGiB).ok());
  v1::GrantAccessRequest grant;
  *grant.mutable_context() = Context("volume", "vol-1");
  grant.set_host("host-a");
  grant.set_initiator("iqn.1994-05.com.redhat:host-a");
  v1::GrantAccessResponse granted;
  REQUIRE(f.service().GrantAccess(&f.server_context_, &grant, &granted).ok());
  REQUIRE(f.service().GrantAccess(&f.server_context_, &grant, &granted).ok());

  v1::GrantAccessRequest no_initiator = grant;
  no_initiator.clear_initiator();
  CHECK(f.service()
            .GrantAccess(&f.server_context_, &no_initiator, &granted)
            .error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  v1::DeleteVolumeRequest del;
  *del.mutable_context() = Context("volume", "vol-1");
  v1::DeleteVolumeResponse deleted;
  grpc::Status refused =
      f.service().DeleteVolume(&f.server_context_, &del, &deleted);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Matchers::Contains("host-a"));

  v1::RevokeAccessRequest revoke;
  *revoke.mutable_context() = Context("volume", "vol-1");
  revoke.set_host("host-a");
  revoke.set_initiator("iqn.1994-05.com.redhat:host-a");
  v1::RevokeAccessResponse revoked;
  REQUIRE(f.service().RevokeAccess(&f.server_context_, &revoke, &revoked).ok());
  REQUIRE(f.service().RevokeAccess(&f.server_context_, &revoke, &revoked).ok());
  REQUIRE(f.service().DeleteVolume(&f.server_context_, &del, &deleted).ok());
}

TEST_CASE("the simulated array survives a driver restart", "[flashpool]") {
  Fixture f;
  REQUIRE(f.InitializePool("gold", 10 * kGiB).ok());
  v1::CreateVolumeResponse created;
  REQUIRE(f.CreateVolume("vol-1", kGiB, "gold", &created).ok());
  REQUIRE(f.TakeSnapshot("snap-1", "vol-1").ok());
  f.Reopen();
  CHECK(f.Stats("storage_pool", "gold").used_bytes() == kGiB);
  CHECK(f.Stats("volume", "vol-1").capacity_bytes() == kGiB);
  CHECK(f.TakeSnapshot("snap-1", "vol-1").error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  // Vendor ids stay unique across restarts.
  v1::CreateVolumeResponse second;
  REQUIRE(f.CreateVolume("vol-2", kGiB, "gold", &second).ok());
  CHECK(second.vendor_volume_id() != created.vendor_volume_id());
}

TEST_CASE("GetStats needs a pool or a volume that exists", "[flashpool]") {
  Fixture f;
  v1::GetStatsRequest request;
  v1::GetStatsResponse response;
  *request.mutable_context() = Context("snapshot", "snap-1");
  CHECK(f.service()
            .GetStats(&f.server_context_, &request, &response)
            .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  *request.mutable_context() = Context("volume", "ghost");
  CHECK(f.service()
            .GetStats(&f.server_context_, &request, &response)
            .error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(f.Stats("storage_pool", "default").capacity_bytes() == uint64_t{10}
                                                                   << 40);
}

}  // namespace
}  // namespace pitstop::flashpool
