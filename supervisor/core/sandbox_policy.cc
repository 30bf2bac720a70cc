#include "supervisor/core/sandbox_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

constexpr char kNetworkOutbound[] = "network=outbound";

// A limit is always in force: at least 1, at most the operator's maximum
// when there is one (the daemon's configuration always sets one).
uint32_t Cap(uint32_t wanted, uint32_t max) {
  wanted = std::max<uint32_t>(wanted, 1);
  return max == 0 ? wanted : std::min(wanted, max);
}

}  // namespace

std::string MissingPermission(const DriverPackage& package,
                              const SandboxPolicyOptions& options) {
  const DriverManifest& m = package.manifest;
  if (m.network != NetworkPermission::kOutbound) return "";
  if (options.network_grants.count(m.name) > 0) return "";
  if (std::find(package.grants.begin(), package.grants.end(),
                kNetworkOutbound) != package.grants.end()) {
    return "";
  }
  return absl::StrCat(
      "permission missing: driver.yaml asks for `permissions.network: "
      "outbound`, which the operator has not granted to ",
      m.name,
      "; grant it with `pitstop install --grant network=outbound` or "
      "add ",
      m.name, " to network_grants in the daemon configuration");
}

SandboxSpec SandboxFor(const DriverPackage& package,
                       const SandboxPolicyOptions& options) {
  const DriverManifest& m = package.manifest;
  SandboxSpec s;
  s.enabled = true;
  s.driver = m.name;
  s.package_dir = package.install_dir;
  s.host_network = m.network == NetworkPermission::kOutbound &&
                   MissingPermission(package, options).empty();
  s.memory_bytes = uint64_t{Cap(m.limits.memory_mb, options.max_memory_mb)}
                   << 20;
  s.pids = Cap(m.limits.pids, options.max_pids);
  s.open_files = Cap(m.limits.open_files, options.max_open_files);
  return s;
}

std::string CheckGrant(const std::string& grant) {
  if (grant == kNetworkOutbound) return "";
  return absl::StrCat("unknown grant '", grant,
                      "': the only grant is network=outbound");
}

}  // namespace pitstop
