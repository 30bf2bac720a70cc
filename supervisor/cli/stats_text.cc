#include "supervisor/cli/stats_text.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/driver_text.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

const sv1::DriverStats* StatsOf(const sv1::GetDriverStatsResponse& stats,
                                const std::string& name) {
  for (const sv1::DriverStats& d : stats.drivers()) {
    if (d.name() == name) return &d;
  }
  return nullptr;
}

std::string CpuText(double seconds) {
  if (seconds <= 0) return "-";
  return absl::StrFormat("%.1fs", seconds);
}

// The columns a version fills, from CALLS/S on.
std::vector<std::string> Figures(const sv1::VersionStats& v) {
  return {RateText(v.calls_per_second()),
          ErrorRateText(v.error_rate(), v.calls_per_second()),
          LatencyText(v.p50_seconds()),
          LatencyText(v.p99_seconds()),
          BytesText(v.memory_bytes()),
          CpuText(v.cpu_seconds())};
}

const sv1::VersionStats* VersionOf(const sv1::DriverStats* stats,
                                   const std::string& version) {
  if (stats == nullptr) return nullptr;
  for (const sv1::VersionStats& v : stats->versions()) {
    if (v.version() == version) return &v;
  }
  return nullptr;
}

// The versions with a process now.
int RunningVersions(const sv1::DriverStats* stats) {
  int n = 0;
  if (stats == nullptr) return 0;
  for (const sv1::VersionStats& v : stats->versions()) n += v.processes() > 0;
  return n;
}

}  // namespace

std::string LatencyText(double seconds) {
  if (seconds <= 0) return "-";
  if (seconds < 0.001) return absl::StrFormat("%.0fµs", seconds * 1e6);
  if (seconds < 1) return absl::StrFormat("%.1fms", seconds * 1e3);
  return absl::StrFormat("%.2fs", seconds);
}

std::string RateText(double per_second) {
  if (per_second <= 0) return "0";
  if (per_second >= 100) return absl::StrFormat("%.0f", per_second);
  return absl::StrFormat("%.1f", per_second);
}

std::string ErrorRateText(double rate, double calls_per_second) {
  if (calls_per_second <= 0) return "-";
  return absl::StrFormat("%.1f%%", rate * 100);
}

std::string BytesText(uint64_t bytes) {
  if (bytes == 0) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, "B")
                   : absl::StrFormat("%.1f%s", value, units[unit]);
}

std::vector<std::vector<std::string>> TopRows(
    const sv1::ListDriversResponse& drivers,
    const sv1::GetDriverStatsResponse& stats) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "VERSION", "PID", "CALLS/S", "ERRORS", "P50", "P99",
       "MEMORY", "CPU", "RESTARTS", "WAITING"}};
  for (const sv1::Driver& d : drivers.drivers()) {
    const sv1::DriverStats* s = StatsOf(stats, d.name());
    std::vector<std::string> row = {d.name(), StateName(d.state()), d.version(),
                                    PidText(d)};
    const sv1::VersionStats* active = VersionOf(s, d.version());
    std::vector<std::string> figures =
        active != nullptr
            ? Figures(*active)
            : std::vector<std::string>{"0", "-", "-", "-", "-", "-"};
    row.insert(row.end(), figures.begin(), figures.end());
    row.push_back(std::to_string(d.restarts()));
    row.push_back(s != nullptr ? std::to_string(s->calls_waiting()) : "0");
    rows.push_back(std::move(row));
    if (RunningVersions(s) < 2 && d.instances_size() < 2) continue;
    // Two versions side by side: each on its own row.
    for (const sv1::Instance& i : d.instances()) {
      const sv1::VersionStats* v = VersionOf(s, i.version());
      std::vector<std::string> sub = {"  " + i.role(), "", i.version(),
                                      i.pid() ? std::to_string(i.pid()) : "-"};
      if (v != nullptr) {
        std::vector<std::string> f = Figures(*v);
        sub.insert(sub.end(), f.begin(), f.end());
      }
      rows.push_back(std::move(sub));
    }
  }
  return rows;
}

void PrintStats(const sv1::DriverStats& stats, bool counting,
                std::ostream& out) {
  if (!counting) {
    out << "calls: not counted (count_calls: false in pitstopd.yaml)\n";
    return;
  }
  if (stats.versions().empty()) {
    out << "calls: none yet\n";
    return;
  }
  out << "calls:\n";
  std::vector<std::vector<std::string>> rows = {
      {"  VERSION", "WINDOW", "CALLS/S", "ERRORS", "P50", "P99", "TOTAL",
       "FAILED", "IN FLIGHT", "MEMORY", "CPU"}};
  for (const sv1::VersionStats& v : stats.versions()) {
    rows.push_back({"  " + v.version(),
                    absl::StrFormat("%.0fs", v.window_seconds()),
                    RateText(v.calls_per_second()),
                    ErrorRateText(v.error_rate(), v.calls_per_second()),
                    LatencyText(v.p50_seconds()), LatencyText(v.p99_seconds()),
                    std::to_string(v.calls_total()),
                    std::to_string(v.driver_errors_total()),
                    std::to_string(v.calls_in_flight()),
                    BytesText(v.memory_bytes()), CpuText(v.cpu_seconds())});
  }
  out << FormatTable(rows);
  if (stats.calls_waiting() > 0) {
    out << "  " << stats.calls_waiting()
        << " calls waiting for a READY process or a busy resource\n";
  }
}

}  // namespace pitstop
