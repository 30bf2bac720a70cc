#ifndef PITSTOP_SUPERVISOR_CORE_SANDBOX_POLICY_H_
#define PITSTOP_SUPERVISOR_CORE_SANDBOX_POLICY_H_

// What the daemon lets one driver have in its sandbox: its driver.yaml
// limits cut to the operator's maxima, and its permissions checked against
// what the operator granted (daemon config or `pitstop install --grant`).
// docs/sandbox.md describes the profile itself.

#include <cstdint>
#include <set>
#include <string>

#include "supervisor/core/driver_package.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

struct SandboxPolicyOptions {
  // Operator maxima (0: none).
  uint32_t max_memory_mb = 0;
  uint32_t max_pids = 0;
  uint32_t max_open_files = 0;
  // Drivers allowed to share the host's network (permissions.network:
  // outbound), from the daemon configuration.
  std::set<std::string> network_grants;
};

// Empty when every permission the driver asks for is granted; otherwise
// which one is missing and how the operator can grant it.
std::string MissingPermission(const DriverPackage& package,
                              const SandboxPolicyOptions& options);

// The sandbox part of a driver instance's launch (without paths).
SandboxSpec SandboxFor(const DriverPackage& package,
                       const SandboxPolicyOptions& options);

// The grant an operator gives at install: "network=outbound". Returns an
// INVALID_ARGUMENT message for anything else, empty when valid.
std::string CheckGrant(const std::string& grant);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_SANDBOX_POLICY_H_
