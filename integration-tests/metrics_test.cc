// pitstopd's Prometheus endpoint (docs/observability.md), scraped over a
// real socket as Prometheus would: the drivers' state and identity, the
// routed calls, the build, and the process family, in the text format;
// parsed by the Prometheus project's own Python parser, and scraped by a
// real Prometheus server.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

TEST_CASE(
    "metrics_listen serves the drivers' state, restarts and identity, the "
    "build and the process family in Prometheus' text format",
    "[integration][metrics]") {
  const std::string dir = MakeTempDir("pitstop-metrics");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderIn(dir);
  spec.config_yaml = "metrics_listen: 127.0.0.1:0\n";
  Daemon d(spec);
  const std::string address = MetricsAddress(d);

  const std::string page = HttpGet(address, "/metrics");
  INFO(page);
  CHECK(absl::StartsWith(page, "HTTP/1.1 200"));
  CHECK(absl::StrContains(page, "text/plain; version=0.0.4"));
  for (const char* line : {
           "# TYPE pitstop_driver_state gauge\n",
           "pitstop_driver_state{driver=\"recorder\",state=\"READY\"} 1\n",
           "pitstop_driver_state{driver=\"recorder\",state=\"FAILED\"} 0\n",
           "pitstop_driver_restarts_total{driver=\"recorder\"} 0\n",
           "pitstop_driver_info{driver=\"recorder\",version=\"1.0.0\",",
           "pitstop_driver_instances{driver=\"recorder\",role=\"serving\"} 1\n",
           "pitstop_build_info{version=\"",
           "\nprocess_open_fds ",
           "\nprocess_resident_memory_bytes ",
       }) {
    CHECK(absl::StrContains(page, line));
  }
  // A crash and the restart policy's restart count.
  const int pid = d.GetDriver("recorder").pid();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  d.AwaitReady("recorder", pid);
  CHECK(absl::StrContains(
      HttpGet(address, "/metrics"),
      "pitstop_driver_restarts_total{driver=\"recorder\"} 1\n"));
  CHECK(absl::StartsWith(HttpGet(address, "/nothing"), "HTTP/1.1 404"));
  CHECK(absl::StartsWith(HttpGet(address, "/"), "HTTP/1.1 200"));  // console
  // A name the console was not told about (DNS rebinding) is refused; the
  // metrics are served whatever name Prometheus uses.
  CHECK(absl::StartsWith(TryHttpGet(address, "/api/v1/drivers", "evil.example"),
                         "HTTP/1.1 421"));
  CHECK(absl::StartsWith(TryHttpGet(address, "/metrics", "evil.example"),
                         "HTTP/1.1 200"));
  fs::remove_all(dir);
}

// The samples of a scrape: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& page) {
  std::map<std::string, double> out;
  const size_t body = page.find("\r\n\r\n");
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(page).substr(body + 4), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    REQUIRE(absl::SimpleAtod(line.substr(space + 1), &value));
    out[std::string(line.substr(0, space))] = value;
  }
  return out;
}

double Sum(const std::map<std::string, double>& samples,
           absl::string_view prefix) {
  double sum = 0;
  for (const auto& [name, value] : samples) {
    if (absl::StartsWith(name, prefix)) sum += value;
  }
  return sum;
}

std::string Series(const std::string& version, const std::string& code) {
  return absl::StrCat("pitstop_calls_total{driver=\"recorder\",version=\"",
                      version, "\",method=\"CreateVolume\",code=\"", code,
                      "\"}");
}

TEST_CASE(
    "the call counters move by exactly the calls routed, per version and "
    "code, through a crash and an upgrade",
    "[integration][metrics]") {
  const std::string dir = MakeTempDir("pitstop-metrics");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderCopyIn(dir);
  spec.config_yaml = "metrics_listen: 127.0.0.1:0\n";
  Daemon d(spec);
  const std::string address = MetricsAddress(d);

  for (int i = 0; i < 5; ++i) {
    REQUIRE(RecorderCreate(d, "recorder", absl::StrCat("ok-", i)) ==
            grpc::StatusCode::OK);
  }
  // recorder refuses an operation id that is not a safe file name.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(RecorderCreate(d, "recorder", "not/safe") ==
            grpc::StatusCode::INVALID_ARGUMENT);
  }
  REQUIRE(RecorderCreate(d, "nosuch", "x") != grpc::StatusCode::OK);

  std::map<std::string, double> m = Samples(HttpGet(address, "/metrics"));
  CHECK(m[Series("1.0.0", "OK")] == 5);
  CHECK(m[Series("1.0.0", "INVALID_ARGUMENT")] == 2);
  CHECK(m["pitstop_call_duration_seconds_count{driver=\"recorder\","
          "version=\"1.0.0\",method=\"CreateVolume\"}"] == 7);
  CHECK(m["pitstop_call_duration_seconds_bucket{driver=\"recorder\","
          "version=\"1.0.0\",method=\"CreateVolume\",le=\"+Inf\"}"] == 7);
  CHECK(Sum(m, "pitstop_calls_unrouted_total{") == 1);
  CHECK(m["pitstop_calls_in_flight{driver=\"recorder\",version=\"1.0.0\"}"] ==
        0);
  CHECK(m["pitstop_calls_waiting{driver=\"recorder\"}"] == 0);
  CHECK(
      m["pitstop_driver_memory_bytes{driver=\"recorder\",version=\"1.0.0\"}"] >
      0);

  // A crash: counted, and the calls before it stay counted.
  const int pid = d.GetDriver("recorder").pid();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  d.AwaitReady("recorder", pid);
  // An upgrade: the new version's calls are its own series.
  CommandResult up = d.Cli(
      {"upgrade", "recorder", "--car", RecorderCar(2), "--probation", "200ms"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  AwaitDriver(d, "recorder", [](const pitstop::supervisor::v1::Driver& r) {
    return r.version() == "2.0.0" && r.upgrade().empty();
  });
  for (int i = 0; i < 3; ++i) {
    REQUIRE(RecorderCreate(d, "recorder", absl::StrCat("v2-", i)) ==
            grpc::StatusCode::OK);
  }
  m = Samples(HttpGet(address, "/metrics"));
  // The crash's restart stays counted through the upgrade.
  CHECK(m["pitstop_driver_restarts_total{driver=\"recorder\"}"] == 1);
  CHECK(m[Series("1.0.0", "OK")] == 5);
  CHECK(m[Series("2.0.0", "OK")] == 3);
  CHECK(Sum(m, "pitstop_calls_total{") == 10);
  CHECK(m["pitstop_driver_info{driver=\"recorder\",version=\"2.0.0\","
          "signer=\"\",sandbox=\"" +
          d.GetDriver("recorder").sandbox().mode() + "\"}"] == 1);
  fs::remove_all(dir);
}

// A free TCP port on 127.0.0.1 (bound and closed: another process could
// take it before the caller does, which the caller's start then reports).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_CASE(
    "the exposition parses with prometheus_client's strict parser and a "
    "real Prometheus scrapes it",
    "[integration][metrics]") {
  const std::string dir = MakeTempDir("pitstop-metrics");
  KeeperReaper reaper(dir);
  DaemonSpec spec = RecorderIn(dir);
  spec.config_yaml = "metrics_listen: 127.0.0.1:0\n";
  Daemon d(spec);
  const std::string address = MetricsAddress(d);
  REQUIRE(RecorderCreate(d, "recorder", "parse-1") == grpc::StatusCode::OK);

  // The Prometheus project's parser (python3-prometheus-client) raises on
  // anything the format does not allow.
  const std::string page = HttpGet(address, "/metrics");
  const std::string text_file = dir + "/metrics.txt";
  std::ofstream(text_file) << page.substr(page.find("\r\n\r\n") + 4);
  CommandResult parsed = RunCommand(
      {"/usr/bin/python3", "-c",
       "import sys\n"
       "from prometheus_client.parser import text_string_to_metric_families\n"
       "families = "
       "list(text_string_to_metric_families(open(sys.argv[1]).read()))\n"
       "print(' '.join(sorted(f.name + ':' + f.type for f in families)))\n",
       text_file});
  INFO(parsed.out << parsed.err);
  REQUIRE(parsed.exit_code == 0);
  CHECK(absl::StrContains(parsed.out, "pitstop_calls:counter"));
  CHECK(
      absl::StrContains(parsed.out, "pitstop_call_duration_seconds:histogram"));
  CHECK(absl::StrContains(parsed.out, "pitstop_driver_state:gauge"));
  CHECK(absl::StrContains(parsed.out, "process_cpu_seconds:counter"));

  // A real Prometheus, scraping every second.
  const int port = FreePort();
  const std::string config = dir + "/prometheus.yml";
  std::ofstream(config) << "global: {scrape_interval: 1s}\n"
                           "scrape_configs:\n"
                           "  - job_name: pitstopd\n"
                           "    static_configs: [{targets: ['"
                        << address << "']}]\n";
  BackgroundProcess prometheus(
      "/usr/bin/prometheus",
      {"--config.file=" + config, "--storage.tsdb.path=" + dir + "/tsdb",
       absl::StrCat("--web.listen-address=127.0.0.1:", port)});
  const std::string api = absl::StrCat("127.0.0.1:", port);
  std::string answer;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && !prometheus.exited()) {
    answer = TryHttpGet(api,
                        "/api/v1/query?query=pitstop_calls_total%7Bdriver%3D%22"
                        "recorder%22%7D");
    if (absl::StrContains(answer, "\"code\":\"OK\"")) break;
    absl::SleepFor(absl::Milliseconds(200));  // poll with a deadline
  }
  INFO(answer << "\nprometheus said:\n" << prometheus.Output());
  CHECK(absl::StrContains(answer, "\"method\":\"CreateVolume\""));
  CHECK(absl::StrContains(answer, "\"code\":\"OK\""));
  fs::remove_all(dir);
}

TEST_CASE(
    "the documented alert rules load in Prometheus and fire when they should",
    "[integration][metrics]") {
  const std::string dir = std::string(PITSTOP_DOCS_DIR) + "/prometheus";
  CommandResult check = RunCommand(
      {"/usr/bin/promtool", "check", "rules", dir + "/pitstop-alerts.yml"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK(absl::StrContains(check.out, "3 rules found"));
  // promtool resolves rule_files from the working directory.
  CommandResult test = RunCommand({"/bin/sh", "-c",
                                   "cd '" + dir +
                                       "' && /usr/bin/promtool test rules "
                                       "pitstop-alerts-test.yml"});
  INFO(test.out << test.err);
  CHECK(test.exit_code == 0);
}

}  // namespace
}  // namespace pitstop
