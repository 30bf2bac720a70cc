#include "flashpool_store.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "pitstop/sdk/testing/temp_dir.h"

namespace pitstop::flashpool {
namespace {

ArrayState SampleState() {
  ArrayState state;
  PoolRecord pool;
  pool.id = "gold";
  pool.name = "Gold\ttier\nwith \"odd\" chars \\";
  pool.capacity_bytes = 1 << 30;
  pool.capacity_iops = 50000;
  pool.tags = {"ssd", "fast tier"};
  pool.maintenance = true;
  pool.scope = "zone";
  pool.scope_id = "z1";
  pool.hypervisor = "KVM";
  state.pools[pool.id] = pool;
  VolumeRecord volume;
  volume.id = "vol-1";
  volume.pool_id = "gold";
  volume.vendor_id = 1001;
  volume.size_bytes = 4096;
  volume.min_iops = 100;
  volume.max_iops = 1000;
  volume.burst_iops = 1500;
  volume.grants = {{"host-a", "iqn.1994-05.com.redhat:a"}};
  state.volumes[volume.id] = volume;
  SnapshotRecord snapshot;
  snapshot.id = "snap-1";
  snapshot.volume_id = "vol-1";
  snapshot.pool_id = "gold";
  snapshot.vendor_id = 1002;
  snapshot.size_bytes = 4096;
  state.snapshots[snapshot.id] = snapshot;
  state.operations.Remember(
      "op-1", {"CreateVolume", "vol-1", std::string("\0\x01binary\n", 9)});
  state.next_vendor_id = 1003;
  return state;
}

TEST_CASE("the array state survives a round trip through its file format",
          "[flashpool]") {
  const ArrayState state = SampleState();
  absl::StatusOr<ArrayState> parsed =
      ParseArrayState(SerializeArrayState(state));
  REQUIRE(parsed.ok());
  CHECK(SerializeArrayState(*parsed) == SerializeArrayState(state));
  const PoolRecord& pool = parsed->pools.at("gold");
  CHECK(pool.name == state.pools.at("gold").name);
  CHECK(pool.tags == std::vector<std::string>{"ssd", "fast tier"});
  CHECK(pool.maintenance);
  CHECK(parsed->volumes.at("vol-1").grants.size() == 1);
  REQUIRE(parsed->operations.Find("op-1") != nullptr);
  CHECK(parsed->operations.Find("op-1")->response ==
        std::string("\0\x01binary\n", 9));
  CHECK(parsed->next_vendor_id == 1003);
}

TEST_CASE("a corrupt state file is DATA_LOSS naming the line", "[flashpool]") {
  const std::string good = SerializeArrayState(SampleState());
  struct Case {
    std::string text;
    const char* expected;
  };
  const Case cases[] = {
      {"something else\n", "line 1: not a version 1"},
      {"flashpool-state\t1\nvolume\tv\n", "line 2: expected 10 fields"},
      {"flashpool-state\t1\nnext\tx\n", "line 2: field 1 is not a number"},
      {"flashpool-state\t1\nbogus\n", "line 2: unknown record 'bogus'"},
      {"flashpool-state\t1\noperations\tx\n",
       "operation log line 1: not a version 1"},
      {good.substr(0, good.size() - 1), "truncated"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    absl::StatusOr<ArrayState> parsed = ParseArrayState(c.text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(parsed.status().message()),
               Catch::Matchers::Contains(c.expected));
  }
}

TEST_CASE("a new store has the built-in default pool of 10 TiB",
          "[flashpool]") {
  sdk::testing::TempDir temp;
  auto store = OpenFlashpoolStore(temp.path());
  REQUIRE(store.ok());
  uint64_t capacity = 0;
  REQUIRE((*store)
              ->Read([&](const ArrayState& s) {
                capacity = s.pools.at(kDefaultPoolId).capacity_bytes;
                return absl::OkStatus();
              })
              .ok());
  CHECK(capacity == uint64_t{10} << 40);
}

TEST_CASE("reopening a store keeps its pools and counters", "[flashpool]") {
  sdk::testing::TempDir temp;
  auto store = OpenFlashpoolStore(temp.path());
  REQUIRE(store.ok());
  REQUIRE((*store)
              ->Update([](ArrayState& s) {
                s.next_vendor_id = 5000;
                return absl::OkStatus();
              })
              .ok());
  auto other = OpenFlashpoolStore(temp.path());
  REQUIRE(other.ok());
  size_t pools = 0;
  uint64_t next = 0;
  REQUIRE((*other)
              ->Read([&](const ArrayState& s) {
                pools = s.pools.size();
                next = s.next_vendor_id;
                return absl::OkStatus();
              })
              .ok());
  CHECK(pools == 1);
  CHECK(next == 5000);
}

}  // namespace
}  // namespace pitstop::flashpool
