#include "supervisor/core/sandbox_policy.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace pitstop {
namespace {

DriverPackage Package(NetworkPermission network) {
  DriverPackage p;
  p.manifest.name = "webhook";
  p.manifest.network = network;
  p.manifest.limits = {512, 100, 1000};
  p.install_dir = "/state/packages/webhook/1.0.0";
  return p;
}

TEST_CASE("a driver without network permission needs no grant",
          "[sandbox-policy]") {
  DriverPackage p = Package(NetworkPermission::kNone);
  CHECK(MissingPermission(p, {}).empty());
  CHECK_FALSE(SandboxFor(p, {}).host_network);
}

TEST_CASE("outbound network is refused until the operator grants it",
          "[sandbox-policy]") {
  DriverPackage p = Package(NetworkPermission::kOutbound);
  const std::string missing = MissingPermission(p, {});
  CHECK(absl::StrContains(missing, "permissions.network: outbound"));
  CHECK(absl::StrContains(missing, "--grant network=outbound"));
  CHECK_FALSE(SandboxFor(p, {}).host_network);

  SandboxPolicyOptions config;
  config.network_grants = {"webhook"};
  CHECK(MissingPermission(p, config).empty());
  CHECK(SandboxFor(p, config).host_network);

  p.grants = {"network=outbound"};
  CHECK(MissingPermission(p, {}).empty());
  CHECK(SandboxFor(p, {}).host_network);
}

TEST_CASE("driver limits are cut to the operator's maxima",
          "[sandbox-policy]") {
  DriverPackage p = Package(NetworkPermission::kNone);
  SandboxSpec open = SandboxFor(p, {});
  CHECK(open.memory_bytes == uint64_t{512} << 20);
  CHECK(open.pids == 100);
  CHECK(open.open_files == 1000);
  SandboxPolicyOptions max;
  max.max_memory_mb = 256;
  max.max_pids = 64;
  max.max_open_files = 4096;
  SandboxSpec cut = SandboxFor(p, max);
  CHECK(cut.memory_bytes == uint64_t{256} << 20);
  CHECK(cut.pids == 64);
  CHECK(cut.open_files == 1000);
  CHECK(cut.package_dir == p.install_dir);
}

TEST_CASE("the only install grant is network=outbound", "[sandbox-policy]") {
  CHECK(CheckGrant("network=outbound").empty());
  CHECK(absl::StrContains(CheckGrant("network=all"), "unknown grant"));
}

}  // namespace
}  // namespace pitstop
