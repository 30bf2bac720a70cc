#include "pitstop/sdk/driver_info.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace pitstop::sdk {
namespace {

using ::pitstop::driver::v1::Category;

constexpr char kFullManifest[] = R"(name: flashpool
version: 1.4.2
category: storage
vendor: Example Storage
description_key: driver.description
protocol: [v1]
entrypoint: bin/flashpool-driver
requires:
  - name: iscsi-base
    version: ">=1.0.0 <2.0.0"
resource_types: [storage_pool, volume, snapshot]
capabilities: [STORAGE_SYSTEM_SNAPSHOT, CAN_REVERT_VOLUME_TO_SNAPSHOT]
properties:
  - key: management_vip
    type: string
    required: true
limits: {memory_mb: 256, pids: 64, open_files: 256}
permissions: {network: none}
timeouts: {start: 10s, drain: 30s, stop: 1500ms}
)";

TEST_CASE("driver.yaml gives the identity fields and ignores the others",
          "[sdk]") {
  absl::StatusOr<DriverInfo> info = ParseDriverInfo(kFullManifest, "d.yaml");
  REQUIRE(info.ok());
  CHECK(info->name == "flashpool");
  CHECK(info->version == "1.4.2");
  CHECK(info->category == Category::CATEGORY_STORAGE);
  CHECK(info->vendor == "Example Storage");
  CHECK(info->protocol_versions == std::vector<std::string>{"v1"});
  CHECK(info->capabilities ==
        std::vector<std::string>{"STORAGE_SYSTEM_SNAPSHOT",
                                 "CAN_REVERT_VOLUME_TO_SNAPSHOT"});
  CHECK(info->stop_timeout == absl::Milliseconds(1500));

  pitstop::driver::v1::GetInfoResponse response = ToGetInfoResponse(*info);
  CHECK(response.name() == "flashpool");
  CHECK(response.category() == Category::CATEGORY_STORAGE);
  CHECK(response.capabilities_size() == 2);
  CHECK(response.protocol_versions(0) == "v1");
}

TEST_CASE("driver.yaml optional fields take their defaults", "[sdk]") {
  absl::StatusOr<DriverInfo> info = ParseDriverInfo(
      "name: n\nversion: 1.0.0\ncategory: network\nprotocol: [v1]\n", "d");
  REQUIRE(info.ok());
  CHECK(info->category == Category::CATEGORY_NETWORK);
  CHECK(info->vendor.empty());
  CHECK(info->capabilities.empty());
  CHECK(info->stop_timeout == absl::Seconds(5));
}

TEST_CASE("driver.yaml errors name the file, the line and the field", "[sdk]") {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"version: 1.0.0\ncategory: storage\nprotocol: [v1]\n",
       "'name' is required"},
      {"name: n\nversion: 1.0.0\ncategory: disk\nprotocol: [v1]\n",
       "d.yaml:3: 'category' must be one of storage, network, hypervisor "
       "(got 'disk')"},
      {"name: n\nversion: 1.0.0\ncategory: hypervisor\n",
       "'protocol' is required"},
      {"name: n\nversion: 1.0.0\ncategory: storage\nprotocol: v1\n",
       "d.yaml:4: 'protocol' must be a list"},
      {"name: n\nversion: 1.0.0\ncategory: storage\nprotocol: []\n",
       "'protocol' must name at least one version"},
      {"name: n\nversion: 1.0.0\ncategory: storage\nprotocol: [v1]\n"
       "timeouts: {stop: soon}\n",
       "d.yaml:5: 'timeouts.stop' must be a positive duration such as 5s or "
       "500ms (got 'soon')"},
      {"name: n\nversion: 1.0.0\ncategory: storage\nprotocol: [v1]\n"
       "capabilities: [[a]]\n",
       "'capabilities' must be a non-empty string"},
      {"name: [unclosed\n", "d.yaml:"},
      {"- just\n- a list\n", "must be a map"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    absl::StatusOr<DriverInfo> info = ParseDriverInfo(c.yaml, "d.yaml");
    REQUIRE_FALSE(info.ok());
    CHECK(info.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(info.status().message()),
               Catch::Matchers::Contains(c.expected));
  }
}

TEST_CASE("a missing driver.yaml is NOT_FOUND and says how to point at one",
          "[sdk]") {
  absl::StatusOr<DriverInfo> info = LoadDriverInfo("/nonexistent/driver.yaml");
  REQUIRE(info.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(info.status().message(), "--manifest"));
}

}  // namespace
}  // namespace pitstop::sdk
