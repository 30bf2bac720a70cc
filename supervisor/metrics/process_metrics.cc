#include "supervisor/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace pitstop {
namespace {

struct Stat {
  double cpu_seconds = 0;
  double start_seconds = 0;  // since boot
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double children_cpu_seconds = 0;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// `found` false when the file cannot be read.
Stat ReadStat(const std::string& path, bool* found = nullptr) {
  Stat s;
  const std::string text = ReadAll(path);
  const size_t paren = text.rfind(')');
  if (found != nullptr) *found = paren != std::string::npos;
  if (paren == std::string::npos) return s;
  // After the command: field 3 is the state; utime 14, stime 15, cutime
  // 16, cstime 17 (children's, counted only in s.children_cpu_seconds),
  // starttime 22, vsize 23, rss 24 (pages).
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  for (int i = 3; i <= 24 && rest >> field; ++i) {
    if (i == 14 || i == 15) s.cpu_seconds += std::stod(field) / tick;
    if (i == 16 || i == 17) s.children_cpu_seconds += std::stod(field) / tick;
    if (i == 22) s.start_seconds = std::stod(field) / tick;
    if (i == 23) s.virtual_bytes = std::stod(field);
    if (i == 24) s.resident_bytes = std::stod(field) * page;
  }
  return s;
}

double BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double OpenFds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// The memory charged to the group of pitstopd's that `pid` is in (v1's
// memory controller, or v2's unified hierarchy); false when it is in none.
bool ReadCgroupMemory(pid_t pid, const std::string& cgroup_fs, double* bytes) {
  std::istringstream lines(ReadAll("/proc/" + std::to_string(pid) + "/cgroup"));
  std::string line;
  while (std::getline(lines, line)) {
    // "4:memory:/pitstop/flashpool/812-3" or "0::/pitstop/flashpool/812-3".
    const size_t first = line.find(':');
    const size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string group = line.substr(second + 1);
    if (group.rfind("/pitstop/", 0) != 0) continue;
    std::string file;
    if (controllers == "memory") {
      file = cgroup_fs + "/memory" + group + "/memory.usage_in_bytes";
    } else if (controllers.empty()) {
      file = cgroup_fs + group + "/memory.current";
    } else {
      continue;
    }
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(ReadAll(file)), bytes)) {
      continue;
    }
    return true;
  }
  return false;
}

}  // namespace

ProcessUsage ReadProcessUsage(pid_t pid, const std::string& cgroup_fs) {
  ProcessUsage u;
  const Stat s = ReadStat("/proc/" + std::to_string(pid) + "/stat", &u.found);
  if (!u.found) return u;
  u.cpu_seconds = s.cpu_seconds + s.children_cpu_seconds;
  if (!ReadCgroupMemory(pid, cgroup_fs, &u.memory_bytes)) {
    u.memory_bytes = s.resident_bytes;
  }
  return u;
}

void AppendProcessMetrics(PrometheusText& out) {
  using Type = PrometheusText::Type;
  const Stat s = ReadStat("/proc/self/stat");
  out.Family("process_cpu_seconds_total", Type::kCounter,
             "Total user and system CPU time spent in seconds.");
  out.Sample({}, s.cpu_seconds);
  out.Family("process_resident_memory_bytes", Type::kGauge,
             "Resident memory size in bytes.");
  out.Sample({}, s.resident_bytes);
  out.Family("process_virtual_memory_bytes", Type::kGauge,
             "Virtual memory size in bytes.");
  out.Sample({}, s.virtual_bytes);
  out.Family("process_open_fds", Type::kGauge,
             "Number of open file descriptors.");
  out.Sample({}, OpenFds());
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  out.Family("process_max_fds", Type::kGauge,
             "Maximum number of open file descriptors.");
  out.Sample({}, static_cast<double>(limit.rlim_cur));
  out.Family("process_start_time_seconds", Type::kGauge,
             "Start time of the process since unix epoch in seconds.");
  out.Sample({}, BootTime() + s.start_seconds);
}

}  // namespace pitstop
