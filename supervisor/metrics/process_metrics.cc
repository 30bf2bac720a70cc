#include "supervisor/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace pitstop {
namespace {

struct Stat {
  double cpu_seconds = 0;
  double start_seconds = 0;  // since boot
  double virtual_bytes = 0;
  double resident_bytes = 0;
};

Stat ReadStat() {
  Stat s;
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return s;
  // After the command: field 3 is the state; utime 14, stime 15,
  // starttime 22, vsize 23, rss 24 (pages).
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  for (int i = 3; i <= 24 && rest >> field; ++i) {
    if (i == 14 || i == 15) s.cpu_seconds += std::stod(field) / tick;
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

}  // namespace

void AppendProcessMetrics(PrometheusText& out) {
  using Type = PrometheusText::Type;
  const Stat s = ReadStat();
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
