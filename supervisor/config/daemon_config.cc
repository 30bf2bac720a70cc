#include "supervisor/config/daemon_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {

const char kDefaultDaemonConfig[] =
    R"(# pitstopd configuration (the embedded defaults)
listen: unix:/run/pitstop/pitstopd.sock
state_dir: /var/lib/pitstop
drivers_dir: /var/lib/pitstop/cars
log_level: info            # debug | info | warning | error
max_route_wait: 30s        # a routed call without deadline waits this long for READY
default_call_timeout: 60s  # deadline of a forwarded call that has none
restart_max: 10            # more exits than this within restart_window: FAILED
restart_window: 60s
restart_initial_backoff: 100ms  # repeated exits wait this, doubling...
restart_max_backoff: 30s        # ...up to this
health_interval: 1s        # serving drivers are probed this often...
health_failures: 3         # ...this many failures in a row: DEGRADED (no new calls)
degraded_grace: 5s         # DEGRADED this long: killed and restarted
upgrade_probation: 10s     # a new version serves this long before its upgrade commits
require_signed: false      # true: refuse CARs without a valid signature
trust_dir: ""              # directory of trusted root certificates (*.pem)
sandbox: auto              # strict | best-effort | auto (strict when root)
sandbox_uid_base: 61000    # drivers run as uid/gid base + a stable index < 1000
max_memory_mb: 4096        # operator maxima for driver.yaml limits
max_pids: 1024
max_open_files: 65536
network_grants: ""         # drivers allowed outbound network, comma-separated
repositories: {}           # driver repositories, NAME: URL (docs/repository.md)
repo_refresh_interval: 1h  # repository indexes are downloaded this often
repo_max_index_bytes: 16777216  # a larger index is refused
repo_fetch_timeout: 5m     # one download may take this long...
repo_stall_timeout: 30s    # ...and stall this long
)";

namespace {

absl::Status Error(absl::string_view source, const YAML::Node& node,
                   absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", node.Mark().line + 1, ": ", what));
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "log_level must be debug, info, warning or error (got '", text, "')"));
}

absl::Status CheckSandboxMode(absl::string_view text) {
  if (text == "auto" || text == "strict" || text == "best-effort") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "sandbox must be strict, best-effort or auto (got '", text, "')"));
}

absl::Status CheckListenAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) {
    absl::string_view path = address.substr(5);
    if (path.empty() || path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", address,
                       "': a Unix socket needs an absolute path, e.g. "
                       "unix:/run/pitstop/pitstopd.sock"));
    }
    if (path.size() > 107) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", address,
                       "': Unix socket paths are limited to 107 bytes"));
    }
    return absl::OkStatus();
  }
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address,
        "' must be unix:/absolute/path or host:port (e.g. 127.0.0.1:7070)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DaemonConfig> ParseDaemonConfig(absl::string_view yaml,
                                               absl::string_view source,
                                               const DaemonConfig& base) {
  DaemonConfig config = base;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
  if (root.IsNull()) return config;
  if (!root.IsMap())
    return Error(source, root, "the configuration must be a map");
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (key == "repositories") {
      if (value.IsNull()) continue;
      if (!value.IsMap()) {
        return Error(source, value,
                     "repositories must be a map of NAME: URL, e.g. "
                     "{main: https://drivers.example.com/repo}");
      }
      config.repositories.clear();
      for (const auto& repo : value) {
        if (!repo.second.IsScalar() || repo.second.Scalar().empty()) {
          return Error(source, repo.second,
                       absl::StrCat("repository '", repo.first.Scalar(),
                                    "' needs a URL"));
        }
        config.repositories[repo.first.Scalar()] = repo.second.Scalar();
      }
      continue;
    }
    if (!value.IsScalar()) {
      return Error(source, value,
                   absl::StrCat("'", key, "' must be a single value"));
    }
    const std::string& text = value.Scalar();
    if (key == "listen") {
      if (absl::Status s = CheckListenAddress(text); !s.ok()) {
        return Error(source, value, s.message());
      }
      config.listen = text;
    } else if (key == "require_signed") {
      if (text != "true" && text != "false") {
        return Error(source, value,
                     absl::StrCat("require_signed must be true or false (got '",
                                  text, "')"));
      }
      config.require_signed = text == "true";
    } else if (key == "trust_dir") {
      if (!text.empty() && text[0] != '/') {
        return Error(source, value,
                     absl::StrCat("trust_dir must be an absolute path (got '",
                                  text, "')"));
      }
      config.trust_dir = text;
    } else if (key == "state_dir" || key == "drivers_dir") {
      if (text.empty() || text[0] != '/') {
        return Error(source, value,
                     absl::StrCat("'", key, "' must be an absolute path (got '",
                                  text, "')"));
      }
      (key == "state_dir" ? config.state_dir : config.drivers_dir) = text;
    } else if (key == "log_level") {
      auto level = ParseLogLevel(text);
      if (!level.ok()) return Error(source, value, level.status().message());
      config.log_level = *level;
    } else if (key == "sandbox") {
      if (absl::Status s = CheckSandboxMode(text); !s.ok()) {
        return Error(source, value, s.message());
      }
      config.sandbox = text;
    } else if (key == "network_grants") {
      config.network_grants.clear();
      for (absl::string_view name : absl::StrSplit(text, ',')) {
        name = absl::StripAsciiWhitespace(name);
        if (!name.empty()) config.network_grants.emplace_back(name);
      }
    } else if (key == "sandbox_uid_base" || key == "max_memory_mb" ||
               key == "max_pids" || key == "max_open_files") {
      uint32_t& target = key == "sandbox_uid_base" ? config.sandbox_uid_base
                         : key == "max_memory_mb"  ? config.max_memory_mb
                         : key == "max_pids"       ? config.max_pids
                                                   : config.max_open_files;
      if (!absl::SimpleAtoi(text, &target) || target == 0) {
        return Error(source, value,
                     absl::StrCat(key, " must be a positive integer (got '",
                                  text, "')"));
      }
      // Drivers get uids base .. base+999: never root, no wrap-around, and
      // clear of the system and login ranges.
      if (key == "sandbox_uid_base" &&
          (target < 10000 || target > 2000000000)) {
        return Error(source, value,
                     absl::StrCat("sandbox_uid_base must be between 10000 and "
                                  "2000000000 (got '",
                                  text, "'): drivers run as base .. base+999"));
      }
    } else if (key == "restart_max" || key == "health_failures") {
      uint32_t& target =
          key == "restart_max" ? config.restart_max : config.health_failures;
      if (!absl::SimpleAtoi(text, &target) || target == 0) {
        return Error(source, value,
                     absl::StrCat(key, " must be a positive integer (got '",
                                  text, "')"));
      }
    } else if (key == "health_interval" || key == "degraded_grace" ||
               key == "upgrade_probation") {
      absl::Duration d;
      if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
        return Error(source, value,
                     absl::StrCat("'", key,
                                  "' must be a positive duration such as 1s "
                                  "(got '",
                                  text, "')"));
      }
      (key == "health_interval"  ? config.health_interval
       : key == "degraded_grace" ? config.degraded_grace
                                 : config.upgrade_probation) = d;
    } else if (key == "restart_window" || key == "restart_initial_backoff" ||
               key == "restart_max_backoff") {
      absl::Duration d;
      if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
        return Error(source, value,
                     absl::StrCat("'", key,
                                  "' must be a duration such as 100ms or 30s "
                                  "(got '",
                                  text, "')"));
      }
      (key == "restart_window"            ? config.restart_window
       : key == "restart_initial_backoff" ? config.restart_initial_backoff
                                          : config.restart_max_backoff) = d;
    } else if (key == "repo_refresh_interval" || key == "repo_fetch_timeout" ||
               key == "repo_stall_timeout") {
      absl::Duration d;
      if (!absl::ParseDuration(text, &d) || d < absl::Seconds(1)) {
        return Error(source, value,
                     absl::StrCat("'", key,
                                  "' must be a duration of at least 1s, such "
                                  "as 30s or 1h (got '",
                                  text, "')"));
      }
      (key == "repo_refresh_interval" ? config.repo_refresh_interval
       : key == "repo_fetch_timeout"  ? config.repo_fetch_timeout
                                      : config.repo_stall_timeout) = d;
    } else if (key == "repo_max_index_bytes") {
      if (!absl::SimpleAtoi(text, &config.repo_max_index_bytes) ||
          config.repo_max_index_bytes < 1024) {
        return Error(source, value,
                     absl::StrCat("repo_max_index_bytes must be an integer of "
                                  "at least 1024 (got '",
                                  text, "')"));
      }
    } else if (key == "max_route_wait" || key == "default_call_timeout") {
      absl::Duration d;
      if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
        return Error(source, value,
                     absl::StrCat("'", key,
                                  "' must be a positive duration such as 30s "
                                  "(got '",
                                  text, "')"));
      }
      (key == "max_route_wait" ? config.max_route_wait
                               : config.default_call_timeout) = d;
    } else {
      return Error(source, entry.first,
                   absl::StrCat("unknown key '", key,
                                "' (known: listen, state_dir, drivers_dir, "
                                "log_level, max_route_wait, "
                                "default_call_timeout, restart_max, "
                                "restart_window, restart_initial_backoff, "
                                "restart_max_backoff, health_interval, "
                                "health_failures, degraded_grace, "
                                "upgrade_probation, require_signed, trust_dir, "
                                "repositories, repo_refresh_interval, "
                                "repo_max_index_bytes, repo_fetch_timeout, "
                                "repo_stall_timeout, sandbox, "
                                "sandbox_uid_base, max_memory_mb, max_pids, "
                                "max_open_files, network_grants)"));
    }
  }
  return config;
}

absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::string& path) {
  ASSIGN_OR_RETURN(DaemonConfig config,
                   ParseDaemonConfig(kDefaultDaemonConfig,
                                     "<embedded defaults>", DaemonConfig{}));
  if (path.empty()) return config;
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read the configuration file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseDaemonConfig(text.str(), path, config);
}

}  // namespace pitstop
