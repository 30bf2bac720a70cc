#include "bench/metrics_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace pitstop::bench {
namespace {

// A free TCP port on 127.0.0.1 (bound, then closed).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET /metrics from 127.0.0.1:`port`, as Prometheus would; the bytes read.
size_t Scrape(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  size_t total = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[16384];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) total += n;
  }
  ::close(fd);
  return total;
}

fs::path WriteConfig(const fs::path& dir, const std::string& yaml) {
  fs::create_directories(dir);
  const fs::path path = dir / "pitstopd.yaml";
  std::ofstream(path) << yaml;
  return path;
}

}  // namespace

void MetricsCost(const Settings& s, ChildProcessManager& launcher) {
  TempDir off_dir, on_dir;
  MakeBenchCar(off_dir.path() / "cars", "bench");
  MakeBenchCar(on_dir.path() / "cars", "bench");
  const int port = FreePort();
  const fs::path off_config =
      WriteConfig(off_dir.path() / "etc", "count_calls: false\n");
  const fs::path on_config = WriteConfig(
      on_dir.path() / "etc",
      absl::StrCat("count_calls: true\nmetrics_listen: 127.0.0.1:", port,
                   "\n"));
  Daemon off(launcher, off_dir.path(), off_dir.path() / "cars",
             {"--config", off_config.string()});
  Daemon on(launcher, on_dir.path(), on_dir.path() / "cars",
            {"--config", on_config.string()});
  off.AwaitReady(1, absl::Seconds(30));
  on.AwaitReady(1, absl::Seconds(30));

  // Prometheus' side: a scrape a second of the counting daemon.
  std::atomic<bool> stop{false};
  std::atomic<int> scrapes{0};
  std::atomic<size_t> scraped_bytes{0};
  std::thread scraper([&] {
    while (!stop) {
      scraped_bytes = Scrape(port);
      ++scrapes;
      for (int i = 0; i < 100 && !stop; ++i) {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  });

  Caller off_caller(off.socket(), "bench");
  Caller on_caller(on.socket(), "bench");
  std::vector<double> off_us, on_us;
  MeasureLatency(off_caller, on_caller, s.latency_calls, &off_us, &on_us);
  Emit("metrics_on_call_p50_ratio",
       Percentile(on_us, 0.5) / Percentile(off_us, 0.5), "ratio",
       Detail("off_p50_us", Percentile(off_us, 0.5)) +
           Detail("on_p50_us", Percentile(on_us, 0.5)) +
           Detail("goal_max", 1.05));
  Emit("metrics_on_call_p99_ratio",
       Percentile(on_us, 0.99) / Percentile(off_us, 0.99), "ratio");

  Load loads[] = {Load(off.socket(), "bench", 8),
                  Load(on.socket(), "bench", 8)};
  const pid_t daemons[] = {off.pid(), on.pid()};
  int64_t calls[2] = {0, 0};
  double seconds[2] = {0, 0}, cpu[2] = {0, 0};
  const absl::Duration window = absl::Milliseconds(500);
  for (absl::Duration done; done < s.throughput_time; done += window) {
    for (int mode = 0; mode < 2; ++mode) {
      const double before = CpuMicros(daemons[mode]);
      const absl::Time start = absl::Now();
      calls[mode] += loads[mode].Run(window);
      seconds[mode] += absl::ToDoubleSeconds(absl::Now() - start);
      cpu[mode] += CpuMicros(daemons[mode]) - before;
    }
  }
  stop = true;
  scraper.join();
  const double rate_off = calls[0] / seconds[0];
  const double rate_on = calls[1] / seconds[1];
  Emit("metrics_on_throughput_ratio", rate_on / rate_off, "ratio",
       Detail("off_calls_per_s", rate_off) + Detail("on_calls_per_s", rate_on) +
           Detail("off_daemon_cpu_us_per_call", cpu[0] / calls[0]) +
           Detail("on_daemon_cpu_us_per_call", cpu[1] / calls[1]) +
           Detail("scrapes", scrapes.load()) +
           Detail("scrape_bytes", static_cast<double>(scraped_bytes.load())) +
           Detail("goal_min", 0.95));
}

}  // namespace pitstop::bench
