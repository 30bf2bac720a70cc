#ifndef PITSTOP_SUPERVISOR_CONFIG_DAEMON_CONFIG_H_
#define PITSTOP_SUPERVISOR_CONFIG_DAEMON_CONFIG_H_

// pitstopd's configuration: embedded defaults (kDefaultDaemonConfig), then an
// optional YAML file, then command-line flags. docs/operator-guide.md lists
// every key.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/common/logging.h"

namespace pitstop {

struct DaemonConfig {
  // "unix:/path" or "host:port".
  std::string listen;
  // Unpacked packages, per-instance run directories, per-driver data.
  std::string state_dir;
  // Every *.car here is loaded at start-up.
  std::string drivers_dir;
  LogLevel log_level = LogLevel::kInfo;
  // The log's lines: logfmt, or one JSON object each (the same fields).
  LogFormat log_format = LogFormat::kLogfmt;
  // How long a routed call without a deadline may wait for a READY driver.
  absl::Duration max_route_wait = absl::Seconds(30);
  // The deadline given to a forwarded call that has none.
  absl::Duration default_call_timeout = absl::Seconds(60);
  // Restart policy for every driver: more than restart_max exits within
  // restart_window gives up (FAILED); repeated exits wait from
  // restart_initial_backoff, doubling up to restart_max_backoff.
  uint32_t restart_max = 10;
  absl::Duration restart_window = absl::Seconds(60);
  absl::Duration restart_initial_backoff = absl::Milliseconds(100);
  absl::Duration restart_max_backoff = absl::Seconds(30);
  // Health of serving drivers (see SupervisorOptions).
  absl::Duration health_interval = absl::Seconds(1);
  uint32_t health_failures = 3;
  absl::Duration degraded_grace = absl::Seconds(5);
  // How long a new version must serve before its upgrade commits, unless
  // the upgrade names its own probation.
  absl::Duration upgrade_probation = absl::Seconds(10);
  // Signatures: refuse unsigned CARs; the trusted roots. A signed CAR is
  // verified whenever trust_dir is set, and refused if its signature fails.
  bool require_signed = false;
  std::string trust_dir;
  // The driver sandbox (docs/sandbox.md): "strict" refuses a driver whose
  // protections cannot all be applied, "best-effort" runs it and reports
  // the gaps, "auto" is strict when the daemon runs as root.
  std::string sandbox = "auto";
  // Drivers run as uid/gid sandbox_uid_base + a stable index below 1000.
  uint32_t sandbox_uid_base = 61000;
  // Operator maxima for driver.yaml limits (positive).
  uint32_t max_memory_mb = 4096;
  uint32_t max_pids = 1024;
  uint32_t max_open_files = 65536;
  // Drivers allowed to share the host network (permissions.network:
  // outbound), besides those granted at install.
  std::vector<std::string> network_grants;
  // Driver repositories (docs/repository.md): name -> URL (file://,
  // http(s)://) or absolute directory; their indexes are signed under
  // trust_dir's roots. Refreshed every repo_refresh_interval; an index may
  // be at most repo_max_index_bytes; a download fails after
  // repo_fetch_timeout, or repo_stall_timeout without data.
  std::map<std::string, std::string> repositories;
  absl::Duration repo_refresh_interval = absl::Hours(1);
  uint64_t repo_max_index_bytes = 16 << 20;
  absl::Duration repo_fetch_timeout = absl::Minutes(5);
  absl::Duration repo_stall_timeout = absl::Seconds(30);
  // Who may do what (docs/security.md, "Roles"): role ("admin",
  // "operator", "viewer") -> principals ("uid 0", "group pitstop", ...);
  // driver name or "*" -> who may route calls to it. Checked at start-up.
  std::map<std::string, std::vector<std::string>> roles;
  std::map<std::string, std::vector<std::string>> callers;
  // TLS on a TCP listener (docs/security.md, "TLS"): the daemon's
  // certificate and key, and the CA whose certificates clients must
  // present. All three or none; not with a Unix socket.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Listening on TCP without TLS lets anyone who reaches the port act with
  // the roles given to "tcp": refused unless this is true.
  bool insecure_tcp = false;
  // The Unix socket is made 0660 with this group (when it exists).
  std::string socket_group = "pitstop";
  // Prometheus metrics over HTTP/1.1 (docs/observability.md): "IPV4:PORT",
  // e.g. "127.0.0.1:9464"; empty: none.
  std::string metrics_listen;
  // Count every routed call by driver, version, method and code, with its
  // duration (metrics, `pitstop top`); false only to measure what counting
  // costs.
  bool count_calls = true;
  // Host names the web console answers to besides IP addresses and
  // localhost (a name the operator reaches metrics_listen by).
  std::vector<std::string> console_hosts;
  // At SIGTERM: stop every driver, then exit (false), or exit with the
  // drivers running under their keepers for the next pitstopd to re-adopt
  // (true; docs/operator-guide.md, "Under systemd").
  bool leave_drivers_on_exit = false;
  // Events (`pitstop events`) kept in memory and in pitstopd.db, at most
  // this many and this old.
  uint64_t events_max_count = 10000;
  absl::Duration events_max_age = absl::Hours(24 * 30);
  // What clients may make the listener spend (docs/security.md, "Limits").
  uint64_t listener_max_header_bytes = 16 << 10;
  uint32_t listener_max_streams = 100;
  uint32_t listener_max_connections = 1024;
  uint32_t listener_max_connections_per_peer = 256;
  absl::Duration listener_handshake_timeout = absl::Seconds(10);
  absl::Duration listener_idle_timeout = absl::Hours(1);
  absl::Duration listener_request_timeout = absl::Seconds(30);
  uint64_t listener_max_buffered_mb = 512;
  uint64_t listener_max_buffered_mb_per_connection = 128;
};

// The configuration used when no file is given, as YAML.
extern const char kDefaultDaemonConfig[];

// Parses YAML over `base`: keys absent from `yaml` keep base's values.
// INVALID_ARGUMENT naming `source`, the line and the key on error, including
// a key given twice in one map (the top level or `repositories`).
absl::StatusOr<DaemonConfig> ParseDaemonConfig(absl::string_view yaml,
                                               absl::string_view source,
                                               const DaemonConfig& base);

// The embedded defaults, overlaid with the file at `path` when not empty.
absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::string& path);

// Checks a listen address: "unix:/absolute/path" or "host:port".
absl::Status CheckListenAddress(absl::string_view address);

// "debug", "info", "warning", "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
// "logfmt" or "json".
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);
// "strict", "best-effort", "auto"; INVALID_ARGUMENT otherwise.
absl::Status CheckSandboxMode(absl::string_view text);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CONFIG_DAEMON_CONFIG_H_
