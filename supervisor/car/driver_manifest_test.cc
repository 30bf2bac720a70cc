#include "supervisor/car/driver_manifest.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace pitstop {
namespace {

constexpr char kFull[] = R"(name: flashpool
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
properties:
  - key: management_vip
    label_key: prop.management_vip.label
    type: string
    required: true
    max_length: 255
  - key: admin_password
    type: string
    required: true
    secret: true
  - key: default_min_iops
    type: number
    default: 100
limits: {memory_mb: 128, pids: 32, open_files: 64}
permissions: {network: outbound}
timeouts: {start: 3s, drain: 30s, stop: 500ms, call: 2m}
restart: {max_restarts: 3, window: 2m}
)";

TEST_CASE("a complete driver.yaml parses into its manifest", "[car]") {
  auto m = ParseDriverManifest(kFull, "driver.yaml");
  REQUIRE(m.ok());
  REQUIRE(m->name == "flashpool");
  REQUIRE(m->version.ToString() == "1.4.2");
  REQUIRE(m->category == DriverCategory::kStorage);
  REQUIRE(m->entrypoint == "bin/flashpool-driver");
  REQUIRE(m->requires_.size() == 1);
  REQUIRE(m->requires_[0].versions.Contains(SemVer::Parse("1.5.0").value()));
  REQUIRE(m->resource_types.size() == 3);
  REQUIRE(m->properties.size() == 3);
  REQUIRE(m->properties[0].max_length == 255u);
  REQUIRE(m->properties[1].secret);
  REQUIRE(PropertyScalarText(*m->properties[2].default_value) == "100");
  REQUIRE(m->limits.memory_mb == 128);
  REQUIRE(m->network == NetworkPermission::kOutbound);
  REQUIRE(m->timeouts.start == absl::Seconds(3));
  REQUIRE(m->timeouts.stop == absl::Milliseconds(500));
  REQUIRE(m->timeouts.call == absl::Minutes(2));
  REQUIRE(m->restart.max_restarts == 3u);
  REQUIRE(m->restart.window == absl::Minutes(2));
  REQUIRE(!m->restart.max_backoff);
}

TEST_CASE("driver.yaml errors name the file, the line and the fix", "[car]") {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"name: Flash_Pool\nversion: 1.0.0\ncategory: storage\nentrypoint: "
       "bin/x\n",
       "driver.yaml:1: name 'Flash_Pool' must be lowercase"},
      {"name: fp\nversion: 1.0\ncategory: storage\nentrypoint: bin/x\n",
       "driver.yaml:2: '1.0' is not a semantic version"},
      {"name: fp\nversion: 1.0.0\ncategory: disk\nentrypoint: bin/x\n",
       "driver.yaml:3: category must be one of network, storage, hypervisor "
       "(got 'disk')"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: ../x\n",
       "driver.yaml:4: entrypoint '../x' must be a file under bin/"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\n",
       "missing required field 'entrypoint'"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "limits: {memory_mb: 0}\n",
       "driver.yaml:5: limits.memory_mb must be at least 1 (0 would mean no "
       "limit"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "catgory: storage\n",
       "driver.yaml:5: unknown field 'catgory'"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - key: max_iops\n    type: int\n",
       "driver.yaml:7: property 'max_iops': type must be one of string, date, "
       "number, boolean (got 'int')"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - key: a\n    type: number\n    default: lots\n",
       "driver.yaml:8: 'default': 'lots' is not a decimal number"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: string}\n  - {key: a, type: string}\n",
       "driver.yaml:7: property 'a' is declared twice"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "timeouts: {start: soon}\n",
       "driver.yaml:5: 'start' must be a positive duration"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: string, minimum: 1}\n",
       "driver.yaml:6: property 'a': minimum applies to number properties"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: number, minimum: 10, maximum: 5}\n",
       "maximum 5 is below minimum 10"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: number, maximum: 5, default: 6}\n",
       "default 6 is outside minimum..maximum"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: date, default: 2026-02-30}\n",
       "has no day 30"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: string, allowed_values: [x, y], "
       "default: z}\n",
       "default z is not one of allowed_values"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: boolean, default: yes}\n",
       "'default' must be true or false (got 'yes')"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "protocol: [v2]\n",
       "driver.yaml:5: protocol must include v1, the only protocol"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "requires: [{version: 1.0.0}]\n",
       "driver.yaml:5: requirement without 'name'"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "requires: [{name: fp}]\n",
       "driver.yaml:5: a driver cannot require itself"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties: [x]\n",
       "driver.yaml:5: each property must be a map"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: number, max_length: 3}\n",
       "driver.yaml:6: property 'a': max_length applies to string properties "
       "only"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "properties:\n  - {key: a, type: string, max_length: 3, default: "
       "abcd}\n",
       "driver.yaml:6: property 'a': default is longer than max_length"},
      {"name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n"
       "permissions: {network: inbound}\n",
       "driver.yaml:5: permissions.network must be none or outbound (got "
       "'inbound')"},
      {"name: [unclosed\n", "driver.yaml:"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    auto m = ParseDriverManifest(c.yaml, "driver.yaml");
    REQUIRE(!m.ok());
    REQUIRE(m.status().code() == absl::StatusCode::kInvalidArgument);
    INFO(m.status().message());
    REQUIRE(m.status().message().find(c.expected) != std::string::npos);
  }
}

TEST_CASE(
    "of several problems in driver.yaml, the first in field order is "
    "reported",
    "[car]") {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const std::string head =
      "name: fp\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/x\n";
  const Case cases[] = {
      // The fields' own order, not the file's.
      {"entrypoint: y\ncategory: x\nversion: 1\nname: Fp\n",
       "driver.yaml:4: name 'Fp'"},
      {"entrypoint: y\ncategory: x\nversion: 1\nname: fp\n",
       "driver.yaml:3: '1' is not a semantic version"},
      {"timeouts: {start: x}\nrestart: {window: x}\n",
       "driver.yaml:6: 'window' must be a positive duration"},
      {"permissions: {network: x}\nlimits: {pids: 0}\n",
       "driver.yaml:6: limits.pids must be at least 1"},
      {"properties: [{key: a, type: x}]\nrequires: [{name: fp}]\n",
       "driver.yaml:6: a driver cannot require itself"},
      // Within a property: its flags, then max_length, bounds, values.
      {"properties: [{key: a, type: string, max_length: y, required: x}]\n",
       "driver.yaml:5: 'required' must be true or false (got 'x')"},
      {"properties: [{key: a, type: number, max_length: 1, minimum: x}]\n",
       "driver.yaml:5: property 'a': max_length applies to string"},
      {"properties: [{key: a, type: number, minimum: 5, maximum: 4, "
       "default: x}]\n",
       "driver.yaml:5: property 'a': maximum 4 is below minimum 5"},
  };
  for (const Case& c : cases) {
    const std::string yaml =
        absl::StartsWith(c.yaml, "entrypoint") ? c.yaml : head + c.yaml;
    INFO(yaml);
    auto m = ParseDriverManifest(yaml, "driver.yaml");
    REQUIRE(!m.ok());
    INFO(m.status().message());
    REQUIRE(absl::StartsWith(m.status().message(), c.expected));
  }
}

TEST_CASE("driver names are lowercase letters, digits and dashes", "[car]") {
  REQUIRE(IsValidDriverName("flashpool"));
  REQUIRE(IsValidDriverName("iscsi-base2"));
  REQUIRE(!IsValidDriverName("2fast"));
  REQUIRE(!IsValidDriverName("trailing-"));
  REQUIRE(!IsValidDriverName("UPPER"));
  REQUIRE(!IsValidDriverName(""));
}

}  // namespace
}  // namespace pitstop
