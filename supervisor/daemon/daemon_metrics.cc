#include "supervisor/daemon/daemon_metrics.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "supervisor/core/driver_state.h"
#include "supervisor/metrics/process_metrics.h"
#include "supervisor/metrics/prometheus_text.h"

namespace pitstop {
namespace {

using Type = PrometheusText::Type;

}  // namespace

std::string CollectDaemonMetrics(Supervisor& supervisor) {
  const std::vector<DriverStatus> drivers = supervisor.List();
  PrometheusText out;
  out.Family("pitstop_build_info", Type::kGauge,
             "pitstopd's version, as a label; always 1.");
  out.Sample({{"version", PITSTOP_VERSION}}, 1);

  out.Family("pitstop_driver_state", Type::kGauge,
             "1 for the state each driver is in, 0 for the others.");
  for (const DriverStatus& d : drivers) {
    for (DriverState s : kDriverStates) {
      out.Sample({{"driver", d.package->manifest.name},
                  {"state", std::string(DriverStateName(s))}},
                 d.state == s ? 1 : 0);
    }
  }
  out.Family("pitstop_driver_restarts_total", Type::kCounter,
             "Restarts of each driver by its restart policy (its process "
             "ended on its own); back to 0 at an operator's restart, reset "
             "or upgrade.");
  for (const DriverStatus& d : drivers) {
    out.Sample({{"driver", d.package->manifest.name}}, d.restarts);
  }
  out.Family("pitstop_driver_info", Type::kGauge,
             "Each driver's active version, signer and sandbox mode; "
             "always 1.");
  for (const DriverStatus& d : drivers) {
    out.Sample({{"driver", d.package->manifest.name},
                {"version", d.package->manifest.version.ToString()},
                {"signer", d.package->signer},
                {"sandbox", d.sandbox.mode}},
               1);
  }
  out.Family("pitstop_driver_instances", Type::kGauge,
             "Processes of each driver by role (serving, starting, "
             "draining, standby, stopping).");
  for (const DriverStatus& d : drivers) {
    std::vector<std::pair<std::string, int>> roles;
    for (const InstanceStatus& i : d.instances) {
      auto it = std::find_if(roles.begin(), roles.end(),
                             [&i](const auto& r) { return r.first == i.role; });
      if (it == roles.end()) {
        roles.emplace_back(i.role, 1);
      } else {
        ++it->second;
      }
    }
    for (const auto& [role, count] : roles) {
      out.Sample({{"driver", d.package->manifest.name}, {"role", role}}, count);
    }
  }
  out.Family("pitstop_upgrade_in_progress", Type::kGauge,
             "1 while an upgrade of the driver runs, with its versions.");
  for (const DriverStatus& d : drivers) {
    if (d.upgrade.empty()) continue;
    out.Sample({{"driver", d.package->manifest.name},
                {"from", d.upgrade_from},
                {"to", d.upgrade_to}},
               1);
  }
  AppendProcessMetrics(out);
  return out.text();
}

}  // namespace pitstop
