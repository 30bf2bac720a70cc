#include "supervisor/daemon/daemon_metrics.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "supervisor/core/driver_state.h"
#include "supervisor/metrics/process_metrics.h"
#include "supervisor/metrics/prometheus_text.h"

namespace pitstop {
namespace {

using Type = PrometheusText::Type;

const std::string& NameOf(const DriverStatus& d) {
  return d.package->manifest.name;
}

// "/pitstop.driver.v1.StorageService/CreateVolume" -> "CreateVolume": the
// service is the driver's category.
std::string MethodLabel(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

void AppendDrivers(const std::vector<DriverStatus>& drivers,
                   PrometheusText& out) {
  out.Family("pitstop_driver_state", Type::kGauge,
             "1 for the state each driver is in, 0 for the others.");
  for (const DriverStatus& d : drivers) {
    for (DriverState s : kDriverStates) {
      out.Sample(
          {{"driver", NameOf(d)}, {"state", std::string(DriverStateName(s))}},
          d.state == s ? 1 : 0);
    }
  }
  out.Family("pitstop_driver_restarts_total", Type::kCounter,
             "Restarts of each driver by its restart policy (its process "
             "ended on its own); back to 0 when an operator restarts or "
             "resets it.");
  for (const DriverStatus& d : drivers) {
    out.Sample({{"driver", NameOf(d)}}, d.restarts);
  }
  out.Family("pitstop_driver_info", Type::kGauge,
             "Each driver's active version, signer and sandbox mode; "
             "always 1.");
  for (const DriverStatus& d : drivers) {
    out.Sample({{"driver", NameOf(d)},
                {"version", d.package->manifest.version.ToString()},
                {"signer", d.package->signer},
                {"sandbox", d.sandbox.mode}},
               1);
  }
  out.Family("pitstop_driver_instances", Type::kGauge,
             "Processes of each driver by role (serving, starting, "
             "draining, standby, stopping).");
  for (const DriverStatus& d : drivers) {
    std::map<std::string, int> roles;
    for (const InstanceStatus& i : d.instances) ++roles[i.role];
    for (const auto& [role, count] : roles) {
      out.Sample({{"driver", NameOf(d)}, {"role", role}}, count);
    }
  }
}

// Memory and CPU per version of each driver (two processes of one version
// run during a graceful restart: summed).
void AppendUsage(const std::vector<DriverStatus>& drivers,
                 PrometheusText& out) {
  std::map<std::pair<std::string, std::string>, ProcessUsage> usage;
  for (const DriverStatus& d : drivers) {
    for (const InstanceStatus& i : d.instances) {
      if (i.pid == 0) continue;
      const ProcessUsage u = ReadProcessUsage(i.pid);
      if (!u.found) continue;
      ProcessUsage& sum = usage[{NameOf(d), i.version}];
      sum.memory_bytes += u.memory_bytes;
      sum.cpu_seconds += u.cpu_seconds;
    }
  }
  out.Family("pitstop_driver_memory_bytes", Type::kGauge,
             "Memory of each driver's processes: what their cgroup is "
             "charged, or their resident set when they have none.");
  for (const auto& [key, u] : usage) {
    out.Sample({{"driver", key.first}, {"version", key.second}},
               u.memory_bytes);
  }
  out.Family("pitstop_driver_cpu_seconds_total", Type::kCounter,
             "CPU time of each driver's processes, user and system; starts "
             "again when a process is replaced.");
  for (const auto& [key, u] : usage) {
    out.Sample({{"driver", key.first}, {"version", key.second}}, u.cpu_seconds);
  }
}

void AppendLoad(const std::vector<DriverStatus>& drivers, PrometheusText& out) {
  out.Family("pitstop_calls_in_flight", Type::kGauge,
             "Routed calls a driver's processes are working on.");
  for (const DriverStatus& d : drivers) {
    std::map<std::string, int> by_version;
    for (const InstanceStatus& i : d.instances) {
      by_version[i.version] += i.calls_in_flight;
    }
    for (const auto& [version, n] : by_version) {
      out.Sample({{"driver", NameOf(d)}, {"version", version}}, n);
    }
  }
  out.Family("pitstop_calls_waiting", Type::kGauge,
             "Routed calls parked until the driver has a READY process or "
             "their resource is free.");
  for (const DriverStatus& d : drivers) {
    out.Sample({{"driver", NameOf(d)}}, static_cast<double>(d.calls_waiting));
  }
  out.Family("pitstop_upgrade_in_progress", Type::kGauge,
             "1 while an upgrade of the driver runs, with its versions.");
  for (const DriverStatus& d : drivers) {
    if (d.upgrade.empty()) continue;
    out.Sample(
        {{"driver", NameOf(d)}, {"from", d.upgrade_from}, {"to", d.upgrade_to}},
        1);
  }
  out.Family("pitstop_upgrade_resources_pending", Type::kGauge,
             "Resources the replaced version still has calls on, during an "
             "upgrade or graceful restart; each moves when its calls end.");
  for (const DriverStatus& d : drivers) {
    out.Sample({{"driver", NameOf(d)}},
               static_cast<double>(d.resources_pending));
  }
}

void AppendCalls(const CallStats& stats, PrometheusText& out) {
  const std::vector<VersionCallsSnapshot> versions = stats.Snapshot();
  out.Family("pitstop_calls_total", Type::kCounter,
             "Routed calls forwarded to a driver process, by the driver and "
             "version that served them, method and the gRPC status code the "
             "caller got");
  for (const VersionCallsSnapshot& v : versions) {
    for (const MethodCallsSnapshot& m : v.methods) {
      for (int c = 0; c < kGrpcCodeCount; ++c) {
        if (m.codes[c] == 0) continue;
        out.Sample({{"driver", v.driver},
                    {"version", v.version},
                    {"method", MethodLabel(m.method)},
                    {"code", std::string(CodeLabel(c))}},
                   static_cast<double>(m.codes[c]));
      }
    }
  }
  out.Family("pitstop_call_duration_seconds", Type::kHistogram,
             "Time from a forwarded call's first headers until the router "
             "had its whole answer");
  for (const VersionCallsSnapshot& v : versions) {
    for (const MethodCallsSnapshot& m : v.methods) {
      out.Histogram({{"driver", v.driver},
                     {"version", v.version},
                     {"method", MethodLabel(m.method)}},
                    CallLatencyBounds(), m.buckets, m.sum_seconds);
    }
  }
  out.Family("pitstop_calls_unrouted_total", Type::kCounter,
             "Routed calls the daemon answered without forwarding them "
             "(unknown, stopped or FAILED driver, wrong category or "
             "resource type, bad property bag, over a limit), by gRPC code.");
  const std::array<uint64_t, kGrpcCodeCount> unrouted = stats.Unrouted();
  for (int c = 0; c < kGrpcCodeCount; ++c) {
    if (unrouted[c] == 0) continue;
    out.Sample({{"code", std::string(CodeLabel(c))}},
               static_cast<double>(unrouted[c]));
  }
}

void AppendRepositories(RepositorySet& repositories, UpdateAnnouncer& updates,
                        PrometheusText& out) {
  const std::vector<RepositoryStatus> list = repositories.List();
  out.Family("pitstop_repository_index_expiry_timestamp_seconds", Type::kGauge,
             "When each repository's signed index expires (Unix time); "
             "past it, the index is refused until the repository signs a "
             "new one.");
  for (const RepositoryStatus& r : list) {
    if (!r.index) continue;
    out.Sample({{"repository", r.name}},
               absl::ToDoubleSeconds(r.index->expires - absl::UnixEpoch()));
  }
  out.Family("pitstop_repository_ok", Type::kGauge,
             "1 when the repository's last refresh succeeded, 0 when it "
             "failed (the log and `pitstop repo list` say why).");
  for (const RepositoryStatus& r : list) {
    if (r.last_refresh == absl::InfinitePast()) continue;
    out.Sample({{"repository", r.name}}, r.last_error.empty() ? 1 : 0);
  }
  out.Family("pitstop_updates_available", Type::kGauge,
             "1 for each installed driver a repository offers a newer "
             "version of, with the versions.");
  for (const AvailableUpdate& u : updates.Updates()) {
    out.Sample({{"driver", u.name},
                {"installed", u.installed_version},
                {"available", u.available_version},
                {"repository", u.repository}},
               1);
  }
}

}  // namespace

std::string CollectDaemonMetrics(const MetricsSources& sources) {
  const std::vector<DriverStatus> drivers = sources.supervisor->List();
  PrometheusText out;
  out.Family("pitstop_build_info", Type::kGauge,
             "pitstopd's version, as a label; always 1.");
  out.Sample({{"version", PITSTOP_VERSION}}, 1);
  AppendDrivers(drivers, out);
  AppendUsage(drivers, out);
  AppendLoad(drivers, out);
  if (sources.calls != nullptr) AppendCalls(*sources.calls, out);
  if (sources.repositories != nullptr && sources.updates != nullptr) {
    AppendRepositories(*sources.repositories, *sources.updates, out);
  }
  AppendProcessMetrics(out);
  return out.text();
}

}  // namespace pitstop
