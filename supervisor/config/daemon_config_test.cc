#include "supervisor/config/daemon_config.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("the embedded defaults parse and name the standard paths",
          "[config]") {
  auto config = LoadDaemonConfig("");
  REQUIRE(config.ok());
  REQUIRE(config->listen == "unix:/run/pitstop/pitstopd.sock");
  REQUIRE(config->state_dir == "/var/lib/pitstop");
  REQUIRE(config->max_route_wait == absl::Seconds(30));
}

TEST_CASE("a config file overrides only the keys it names", "[config]") {
  auto base = LoadDaemonConfig("").value();
  auto config = ParseDaemonConfig("listen: 127.0.0.1:7070\nlog_level: debug\n",
                                  "pitstopd.yaml", base);
  REQUIRE(config.ok());
  REQUIRE(config->listen == "127.0.0.1:7070");
  REQUIRE(config->log_level == LogLevel::kDebug);
  REQUIRE(config->state_dir == "/var/lib/pitstop");
  REQUIRE(config->upgrade_probation == absl::Seconds(10));
  auto probation =
      ParseDaemonConfig("upgrade_probation: 2m\n", "pitstopd.yaml", base);
  REQUIRE(probation.ok());
  REQUIRE(probation->upgrade_probation == absl::Minutes(2));
  REQUIRE(!ParseDaemonConfig("upgrade_probation: 0s\n", "pitstopd.yaml", base)
               .ok());
}

TEST_CASE("config errors name the file, the line and the key", "[config]") {
  auto base = LoadDaemonConfig("").value();
  struct Case {
    const char* yaml;
    const char* expected;
  };
  for (const Case& c : {
           Case{"listen: unix:relative.sock\n",
                "pitstopd.yaml:1: listen address 'unix:relative.sock'"},
           Case{"state_dir: /x\nstat_dir: /y\n",
                "pitstopd.yaml:2: unknown key 'stat_dir'"},
           Case{"log_level: loud\n", "log_level must be debug"},
           Case{"log_format: xml\n", "log_format must be logfmt or json"},
           Case{"max_route_wait: forever\n", "positive duration"},
           Case{"listen: [a, b]\n", "'listen' must be a single value"},
           Case{"sandbox: off\n", "sandbox must be strict, best-effort or"},
           Case{"max_pids: many\n", "max_pids must be a positive integer"},
           Case{"max_memory_mb: 0\n",
                "max_memory_mb must be a positive integer"},
           Case{"sandbox_uid_base: 100\n",
                "sandbox_uid_base must be between 10000 and 2000000000"},
       }) {
    INFO(c.yaml);
    auto config = ParseDaemonConfig(c.yaml, "pitstopd.yaml", base);
    REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
    INFO(config.status().message());
    REQUIRE(config.status().message().find(c.expected) != std::string::npos);
  }
}

TEST_CASE("an unknown key is refused with the list of known keys", "[config]") {
  auto config = ParseDaemonConfig("state_dir: /x\nstat_dir: /y\n",
                                  "pitstopd.yaml", DaemonConfig{});
  REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(config.status().message() ==
          "pitstopd.yaml:2: unknown key 'stat_dir' (known: listen, state_dir, "
          "drivers_dir, log_level, log_format, max_route_wait, "
          "default_call_timeout, "
          "restart_max, restart_window, restart_initial_backoff, "
          "restart_max_backoff, health_interval, health_failures, "
          "degraded_grace, upgrade_probation, require_signed, trust_dir, "
          "repositories, repo_refresh_interval, repo_max_index_bytes, "
          "repo_fetch_timeout, repo_stall_timeout, sandbox, sandbox_uid_base, "
          "max_memory_mb, max_pids, max_open_files, network_grants, roles, "
          "callers, metrics_listen, count_calls, console_hosts, "
          "leave_drivers_on_exit, "
          "events_max_count, "
          "events_max_age, "
          "tls_cert, tls_key, "
          "tls_client_ca, insecure_tcp, "
          "socket_group, listener_max_header_bytes, "
          "listener_max_streams, "
          "listener_max_connections, listener_max_connections_per_peer, "
          "listener_handshake_timeout, listener_idle_timeout, "
          "listener_request_timeout, listener_max_buffered_mb, "
          "listener_max_buffered_mb_per_connection)");
}

TEST_CASE("a key given twice is refused naming both lines", "[config]") {
  auto base = LoadDaemonConfig("").value();
  struct Case {
    const char* yaml;
    const char* expected;
  };
  for (const Case& c : {
           Case{"listen: 127.0.0.1:1\nstate_dir: /x\nlisten: 127.0.0.1:2\n",
                "pitstopd.yaml:3: key 'listen' appears twice (first at line "
                "1); keep one"},
           // The same value twice is still refused: one of them is a mistake.
           Case{"log_level: info\nlog_level: info\n",
                "pitstopd.yaml:2: key 'log_level' appears twice (first at line "
                "1); keep one"},
           // Quoting does not make another key.
           Case{"\"require_signed\": true\nrequire_signed: false\n",
                "pitstopd.yaml:2: key 'require_signed' appears twice (first at "
                "line 1); keep one"},
           Case{"{sandbox: strict, sandbox: best-effort}\n",
                "pitstopd.yaml:1: key 'sandbox' appears twice (first at line "
                "1); keep one"},
           // Twice, with a comment and other keys between.
           Case{"trust_dir: /etc/pitstop/trust\n# later:\nmax_pids: 9\n"
                "trust_dir: ''\n",
                "pitstopd.yaml:4: key 'trust_dir' appears twice (first at line "
                "1); keep one"},
           Case{"repositories: {}\nrepositories:\n  main: https://a\n",
                "pitstopd.yaml:2: key 'repositories' appears twice (first at "
                "line 1); keep one"},
           // Inside repositories, a name given twice would pick one URL.
           Case{"repositories:\n  main: https://a.example.com\n"
                "  local: /srv/repo\n  main: https://b.example.com\n",
                "pitstopd.yaml:4: key 'main' appears twice (first at line 2); "
                "keep one"},
       }) {
    INFO(c.yaml);
    auto config = ParseDaemonConfig(c.yaml, "pitstopd.yaml", base);
    REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(config.status().message() == c.expected);
  }
}

TEST_CASE("the same name in different maps is not a duplicate", "[config]") {
  auto base = LoadDaemonConfig("").value();
  auto config = ParseDaemonConfig(
      "listen: 127.0.0.1:7070\nrepositories:\n  listen: /srv/a\n"
      "  main: https://drivers.example.com/repo\n",
      "pitstopd.yaml", base);
  REQUIRE(config.ok());
  REQUIRE(config->listen == "127.0.0.1:7070");
  REQUIRE(config->repositories.at("listen") == "/srv/a");
}

TEST_CASE("the sandbox keys set the mode, maxima and network grants",
          "[config]") {
  auto base = LoadDaemonConfig("").value();
  REQUIRE(base.sandbox == "auto");
  REQUIRE(base.sandbox_uid_base == 61000);
  REQUIRE(base.network_grants.empty());
  auto config = ParseDaemonConfig(
      "sandbox: best-effort\nmax_memory_mb: 512\n"
      "network_grants: 'webhook, dns-sync'\n",
      "pitstopd.yaml", base);
  REQUIRE(config.ok());
  REQUIRE(config->sandbox == "best-effort");
  REQUIRE(config->max_memory_mb == 512);
  REQUIRE(config->max_pids == 1024);
  REQUIRE(config->network_grants ==
          std::vector<std::string>{"webhook", "dns-sync"});
}

TEST_CASE("repositories are a map of names to URLs with their limits",
          "[config]") {
  auto base = LoadDaemonConfig("").value();
  REQUIRE(base.repositories.empty());
  auto config = ParseDaemonConfig(
      "repositories:\n  main: https://drivers.example.com/repo\n"
      "  local: /srv/pitstop-repo\nrepo_refresh_interval: 10m\n"
      "repo_max_index_bytes: 65536\nrepo_stall_timeout: 5s\n",
      "pitstopd.yaml", base);
  REQUIRE(config.ok());
  REQUIRE(config->repositories.size() == 2);
  REQUIRE(config->repositories.at("main") ==
          "https://drivers.example.com/repo");
  REQUIRE(config->repo_refresh_interval == absl::Minutes(10));
  REQUIRE(config->repo_max_index_bytes == 65536);
  REQUIRE(config->repo_stall_timeout == absl::Seconds(5));
  for (const char* yaml :
       {"repositories: [a]\n", "repositories:\n  main:\n",
        "repo_refresh_interval: 0s\n", "repo_max_index_bytes: 10\n"}) {
    INFO(yaml);
    REQUIRE(!ParseDaemonConfig(yaml, "pitstopd.yaml", base).ok());
  }
}

TEST_CASE("listen addresses are unix paths or host:port", "[config]") {
  REQUIRE(CheckListenAddress("unix:/run/x.sock").ok());
  REQUIRE(CheckListenAddress("localhost:0").ok());
  REQUIRE(CheckListenAddress("[::1]:7070").ok());
  REQUIRE(!CheckListenAddress("7070").ok());
  REQUIRE(!CheckListenAddress("host:99999").ok());
}

}  // namespace
}  // namespace pitstop
