#include "supervisor/config/daemon_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {

const char kDefaultDaemonConfig[] =
    R"(# pitstopd configuration (the embedded defaults)
listen: unix:/run/pitstop/pitstopd.sock
state_dir: /var/lib/pitstop
drivers_dir: /var/lib/pitstop/cars
log_level: info            # debug | info | warning | error
log_format: logfmt         # logfmt | json (one object a line, same fields)
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
roles:                     # who may do what (docs/security.md, "Roles")
  admin: [uid 0]
  operator: [group pitstop]
  viewer: []
callers:                   # who may route calls to drivers: NAME or "*"
  "*": [uid 0, group pitstop]
metrics_listen: ""         # Prometheus /metrics, e.g. 127.0.0.1:9464 ("" off)
count_calls: true          # count routed calls (metrics, pitstop top)
console_hosts: ""          # names the console answers to, besides IPs and localhost
leave_drivers_on_exit: false  # SIGTERM: true exits with the drivers running
events_max_count: 10000    # events kept (memory and pitstopd.db)...
events_max_age: 720h       # ...and for at most this long
tls_cert: ""               # TCP: the daemon's certificate (PEM)...
tls_key: ""                # ...its private key...
tls_client_ca: ""          # ...and the CA client certificates must chain to
insecure_tcp: false        # true: allow a TCP listener without TLS
socket_group: pitstop      # the Unix socket is 0660 root:this group
listener_max_header_bytes: 16384    # a call's headers, after HPACK decoding
listener_max_streams: 100           # calls at once on one client connection
listener_max_connections: 1024      # client connections, in all...
listener_max_connections_per_peer: 256  # ...and per uid (Unix) or address (TCP)
listener_handshake_timeout: 10s     # a connection must start HTTP/2 within this
listener_idle_timeout: 1h           # a connection without calls this long gets GOAWAY
listener_request_timeout: 30s       # a routed request must arrive whole within this
listener_max_buffered_mb: 512       # routed request bytes held, all clients...
listener_max_buffered_mb_per_connection: 128  # ...and per connection
)";

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "log_level must be debug, info, warning or error (got '", text, "')"));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log_format must be logfmt or json (got '", text, "')"));
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

namespace {

absl::Status Error(absl::string_view source, const YAML::Node& node,
                   absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ":", node.Mark().line + 1, ": ", what));
}

absl::StatusOr<YAML::Node> LoadYaml(absl::string_view yaml,
                                    absl::string_view source) {
  try {
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
  }
}

// The line of each key met so far in one map. yaml-cpp accepts a key given
// twice and lets one of its values win silently, so a config could say one
// thing to its reader and another to the daemon: the second is refused.
class KeyLines {
 public:
  explicit KeyLines(absl::string_view source) : source_(source) {}

  absl::Status Add(const YAML::Node& key) {
    const int line = key.Mark().line + 1;
    auto [it, inserted] = first_line_.emplace(key.Scalar(), line);
    if (inserted) return absl::OkStatus();
    return Error(
        source_, key,
        absl::StrCat("key '", key.Scalar(), "' appears twice (first at line ",
                     it->second, "); keep one"));
  }

 private:
  absl::string_view source_;
  std::map<std::string, int> first_line_;
};

// Checks the text of one key's value and stores it in `config`. An error
// holds the message only: the caller adds the file and the line.
using ScalarSetter = std::function<absl::Status(
    absl::string_view key, const std::string& text, DaemonConfig& config)>;

// Parses a key whose value need not be a scalar; errors name the file and
// line themselves, as they may point inside the value.
using NodeSetter = std::function<absl::Status(
    absl::string_view source, const YAML::Node& value, DaemonConfig& config)>;

// One key of the file: exactly one of the setters is set.
struct KeyRow {
  absl::string_view key;
  ScalarSetter scalar;
  NodeSetter node = nullptr;
};

absl::Status InvalidValue(absl::string_view key, absl::string_view must_be,
                          absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat(key, " must be ", must_be, " (got '", text, "')"));
}

absl::Status InvalidQuotedValue(absl::string_view key,
                                absl::string_view must_be,
                                absl::string_view text) {
  return InvalidValue(absl::StrCat("'", key, "'"), must_be, text);
}

ScalarSetter ListenAddress(std::string DaemonConfig::*field) {
  return [field](absl::string_view, const std::string& text,
                 DaemonConfig& config) {
    RETURN_IF_ERROR(CheckListenAddress(text));
    config.*field = text;
    return absl::OkStatus();
  };
}

ScalarSetter AbsolutePath(std::string DaemonConfig::*field) {
  return [field](absl::string_view key, const std::string& text,
                 DaemonConfig& config) {
    if (text.empty() || text[0] != '/') {
      return InvalidQuotedValue(key, "an absolute path", text);
    }
    config.*field = text;
    return absl::OkStatus();
  };
}

// An absolute path, or "" for none.
ScalarSetter OptionalAbsolutePath(std::string DaemonConfig::*field) {
  return [field](absl::string_view key, const std::string& text,
                 DaemonConfig& config) {
    if (!text.empty() && text[0] != '/') {
      return InvalidValue(key, "an absolute path", text);
    }
    config.*field = text;
    return absl::OkStatus();
  };
}

ScalarSetter Level(LogLevel DaemonConfig::*field) {
  return [field](absl::string_view, const std::string& text,
                 DaemonConfig& config) -> absl::Status {
    ASSIGN_OR_RETURN(config.*field, ParseLogLevel(text));
    return absl::OkStatus();
  };
}

ScalarSetter Format(LogFormat DaemonConfig::*field) {
  return [field](absl::string_view, const std::string& text,
                 DaemonConfig& config) -> absl::Status {
    ASSIGN_OR_RETURN(config.*field, ParseLogFormat(text));
    return absl::OkStatus();
  };
}

ScalarSetter SandboxMode(std::string DaemonConfig::*field) {
  return [field](absl::string_view, const std::string& text,
                 DaemonConfig& config) {
    RETURN_IF_ERROR(CheckSandboxMode(text));
    config.*field = text;
    return absl::OkStatus();
  };
}

ScalarSetter Boolean(bool DaemonConfig::*field) {
  return [field](absl::string_view key, const std::string& text,
                 DaemonConfig& config) {
    if (text != "true" && text != "false") {
      return InvalidValue(key, "true or false", text);
    }
    config.*field = text == "true";
    return absl::OkStatus();
  };
}

// Comma-separated names; blanks around them and empty ones are dropped.
ScalarSetter NameList(std::vector<std::string> DaemonConfig::*field) {
  return [field](absl::string_view, const std::string& text,
                 DaemonConfig& config) {
    std::vector<std::string>& names = config.*field;
    names.clear();
    for (absl::string_view name : absl::StrSplit(text, ',')) {
      name = absl::StripAsciiWhitespace(name);
      if (!name.empty()) names.emplace_back(name);
    }
    return absl::OkStatus();
  };
}

absl::Status ParsePositiveCount(absl::string_view key, const std::string& text,
                                uint32_t& count) {
  if (!absl::SimpleAtoi(text, &count) || count == 0) {
    return InvalidValue(key, "a positive integer", text);
  }
  return absl::OkStatus();
}

ScalarSetter PositiveCount(uint32_t DaemonConfig::*field) {
  return [field](absl::string_view key, const std::string& text,
                 DaemonConfig& config) {
    return ParsePositiveCount(key, text, config.*field);
  };
}

// Drivers get uids base .. base+999: never root, no wrap-around, and clear
// of the system and login ranges.
ScalarSetter UidBase(uint32_t DaemonConfig::*field) {
  return [field](absl::string_view key, const std::string& text,
                 DaemonConfig& config) {
    uint32_t& base = config.*field;
    RETURN_IF_ERROR(ParsePositiveCount(key, text, base));
    if (base < 10000 || base > 2000000000) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, " must be between 10000 and 2000000000 (got '",
                       text, "'): drivers run as base .. base+999"));
    }
    return absl::OkStatus();
  };
}

ScalarSetter ByteCount(uint64_t DaemonConfig::*field, uint64_t minimum) {
  return [field, minimum](absl::string_view key, const std::string& text,
                          DaemonConfig& config) {
    uint64_t& count = config.*field;
    if (!absl::SimpleAtoi(text, &count) || count < minimum) {
      return InvalidValue(key, absl::StrCat("an integer of at least ", minimum),
                          text);
    }
    return absl::OkStatus();
  };
}

// A duration for which `accepts` holds; `must_be` tells the user what that
// means, with examples.
ScalarSetter BoundedDuration(absl::Duration DaemonConfig::*field,
                             bool (*accepts)(absl::Duration),
                             std::string must_be) {
  return [field, accepts, must_be = std::move(must_be)](absl::string_view key,
                                                        const std::string& text,
                                                        DaemonConfig& config) {
    absl::Duration d;
    if (!absl::ParseDuration(text, &d) || !accepts(d)) {
      return InvalidQuotedValue(key, must_be, text);
    }
    config.*field = d;
    return absl::OkStatus();
  };
}

bool IsPositive(absl::Duration d) { return d > absl::ZeroDuration(); }
bool IsNotNegative(absl::Duration d) { return d >= absl::ZeroDuration(); }
bool IsAtLeastASecond(absl::Duration d) { return d >= absl::Seconds(1); }

ScalarSetter PositiveDuration(absl::Duration DaemonConfig::*field,
                              absl::string_view example) {
  return BoundedDuration(field, IsPositive,
                         absl::StrCat("a positive duration such as ", example));
}

ScalarSetter Backoff(absl::Duration DaemonConfig::*field) {
  return BoundedDuration(field, IsNotNegative,
                         "a duration such as 100ms or 30s");
}

ScalarSetter RepoTimer(absl::Duration DaemonConfig::*field) {
  return BoundedDuration(field, IsAtLeastASecond,
                         "a duration of at least 1s, such as 30s or 1h");
}

// NAME: URL. The file's map replaces the base's; an empty value keeps it.
absl::Status ParseRepositories(absl::string_view source,
                               const YAML::Node& value, DaemonConfig& config) {
  if (value.IsNull()) return absl::OkStatus();
  if (!value.IsMap()) {
    return Error(source, value,
                 "repositories must be a map of NAME: URL, e.g. "
                 "{main: https://drivers.example.com/repo}");
  }
  config.repositories.clear();
  KeyLines names(source);
  for (const auto& repo : value) {
    RETURN_IF_ERROR(names.Add(repo.first));
    if (!repo.second.IsScalar() || repo.second.Scalar().empty()) {
      return Error(
          source, repo.second,
          absl::StrCat("repository '", repo.first.Scalar(), "' needs a URL"));
    }
    config.repositories[repo.first.Scalar()] = repo.second.Scalar();
  }
  return absl::OkStatus();
}

// NAME: [principal, ...] for `roles` (NAME one of `allowed` when not empty)
// and `callers`. A name in the file replaces that entry of the base; the
// others stay.
NodeSetter PrincipalLists(
    std::map<std::string, std::vector<std::string>> DaemonConfig::*field,
    std::vector<std::string> allowed, absl::string_view example) {
  return [field, allowed, example](absl::string_view source,
                                   const YAML::Node& value,
                                   DaemonConfig& config) -> absl::Status {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsMap()) {
      return Error(source, value,
                   absl::StrCat("must be a map of NAME: [principal, ...], "
                                "e.g. ",
                                example));
    }
    KeyLines names(source);
    for (const auto& entry : value) {
      RETURN_IF_ERROR(names.Add(entry.first));
      const std::string name = entry.first.Scalar();
      if (!allowed.empty() &&
          std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return Error(source, entry.first,
                     absl::StrCat("unknown role '", name, "' (known: ",
                                  absl::StrJoin(allowed, ", "), ")"));
      }
      if (!entry.second.IsSequence()) {
        return Error(source, entry.second,
                     absl::StrCat("'", name,
                                  "' must be a list such as [uid 0, group "
                                  "pitstop]"));
      }
      std::vector<std::string> principals;
      for (const auto& item : entry.second) {
        if (!item.IsScalar() || item.Scalar().empty()) {
          return Error(source, item,
                       "a principal must be a word such as 'uid 0'");
        }
        principals.push_back(item.Scalar());
      }
      (config.*field)[name] = std::move(principals);
    }
    return absl::OkStatus();
  };
}

// Every key of the file, in the order the unknown-key error lists them.
std::vector<KeyRow> Keys() {
  using C = DaemonConfig;
  return {
      {"listen", ListenAddress(&C::listen)},
      {"state_dir", AbsolutePath(&C::state_dir)},
      {"drivers_dir", AbsolutePath(&C::drivers_dir)},
      {"log_level", Level(&C::log_level)},
      {"log_format", Format(&C::log_format)},
      {"max_route_wait", PositiveDuration(&C::max_route_wait, "30s")},
      {"default_call_timeout",
       PositiveDuration(&C::default_call_timeout, "30s")},
      {"restart_max", PositiveCount(&C::restart_max)},
      {"restart_window", Backoff(&C::restart_window)},
      {"restart_initial_backoff", Backoff(&C::restart_initial_backoff)},
      {"restart_max_backoff", Backoff(&C::restart_max_backoff)},
      {"health_interval", PositiveDuration(&C::health_interval, "1s")},
      {"health_failures", PositiveCount(&C::health_failures)},
      {"degraded_grace", PositiveDuration(&C::degraded_grace, "1s")},
      {"upgrade_probation", PositiveDuration(&C::upgrade_probation, "1s")},
      {"require_signed", Boolean(&C::require_signed)},
      {"trust_dir", OptionalAbsolutePath(&C::trust_dir)},
      {"repositories", nullptr, ParseRepositories},
      {"repo_refresh_interval", RepoTimer(&C::repo_refresh_interval)},
      {"repo_max_index_bytes", ByteCount(&C::repo_max_index_bytes, 1024)},
      {"repo_fetch_timeout", RepoTimer(&C::repo_fetch_timeout)},
      {"repo_stall_timeout", RepoTimer(&C::repo_stall_timeout)},
      {"sandbox", SandboxMode(&C::sandbox)},
      {"sandbox_uid_base", UidBase(&C::sandbox_uid_base)},
      {"max_memory_mb", PositiveCount(&C::max_memory_mb)},
      {"max_pids", PositiveCount(&C::max_pids)},
      {"max_open_files", PositiveCount(&C::max_open_files)},
      {"network_grants", NameList(&C::network_grants)},
      {"roles", nullptr,
       PrincipalLists(&C::roles, {"admin", "operator", "viewer"},
                      "{operator: [group pitstop]}")},
      {"callers", nullptr,
       PrincipalLists(&C::callers, {}, "{\"*\": [group cloud]}")},
      {"metrics_listen",
       [](absl::string_view, const std::string& text, DaemonConfig& config) {
         config.metrics_listen = text;
         return absl::OkStatus();
       }},
      {"count_calls", Boolean(&C::count_calls)},
      {"console_hosts", NameList(&C::console_hosts)},
      {"leave_drivers_on_exit", Boolean(&C::leave_drivers_on_exit)},
      {"events_max_count", ByteCount(&C::events_max_count, 100)},
      {"events_max_age", PositiveDuration(&C::events_max_age, "720h")},
      {"tls_cert", OptionalAbsolutePath(&C::tls_cert)},
      {"tls_key", OptionalAbsolutePath(&C::tls_key)},
      {"tls_client_ca", OptionalAbsolutePath(&C::tls_client_ca)},
      {"insecure_tcp", Boolean(&C::insecure_tcp)},
      {"socket_group",
       [](absl::string_view key, const std::string& text,
          DaemonConfig& config) {
         config.socket_group = text;
         return absl::OkStatus();
       }},
      {"listener_max_header_bytes",
       ByteCount(&C::listener_max_header_bytes, 1024)},
      {"listener_max_streams", PositiveCount(&C::listener_max_streams)},
      {"listener_max_connections", PositiveCount(&C::listener_max_connections)},
      {"listener_max_connections_per_peer",
       PositiveCount(&C::listener_max_connections_per_peer)},
      {"listener_handshake_timeout",
       PositiveDuration(&C::listener_handshake_timeout, "10s")},
      {"listener_idle_timeout",
       PositiveDuration(&C::listener_idle_timeout, "1h")},
      {"listener_request_timeout",
       PositiveDuration(&C::listener_request_timeout, "30s")},
      {"listener_max_buffered_mb", ByteCount(&C::listener_max_buffered_mb, 1)},
      {"listener_max_buffered_mb_per_connection",
       ByteCount(&C::listener_max_buffered_mb_per_connection, 1)},
  };
}

const KeyRow* FindKey(const std::vector<KeyRow>& keys, absl::string_view key) {
  auto it = std::find_if(keys.begin(), keys.end(),
                         [key](const KeyRow& row) { return row.key == key; });
  return it == keys.end() ? nullptr : &*it;
}

std::string UnknownKey(const std::vector<KeyRow>& keys, absl::string_view key) {
  return absl::StrCat("unknown key '", key, "' (known: ",
                      absl::StrJoin(keys, ", ",
                                    [](std::string* out, const KeyRow& row) {
                                      absl::StrAppend(out, row.key);
                                    }),
                      ")");
}

// One `key: value` of the file into `config`.
absl::Status ParseEntry(const std::vector<KeyRow>& keys,
                        absl::string_view source, const YAML::Node& key_node,
                        const YAML::Node& value, DaemonConfig& config) {
  const std::string key = key_node.Scalar();
  const KeyRow* row = FindKey(keys, key);
  if (row != nullptr && row->node != nullptr) {
    return row->node(source, value, config);
  }
  if (!value.IsScalar()) {
    return Error(source, value,
                 absl::StrCat("'", key, "' must be a single value"));
  }
  if (row == nullptr) return Error(source, key_node, UnknownKey(keys, key));
  if (absl::Status s = row->scalar(key, value.Scalar(), config); !s.ok()) {
    return Error(source, value, s.message());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DaemonConfig> ParseDaemonConfig(absl::string_view yaml,
                                               absl::string_view source,
                                               const DaemonConfig& base) {
  ASSIGN_OR_RETURN(const YAML::Node root, LoadYaml(yaml, source));
  DaemonConfig config = base;
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    return Error(source, root, "the configuration must be a map");
  }
  const std::vector<KeyRow> keys = Keys();
  KeyLines seen(source);
  for (const auto& entry : root) {
    RETURN_IF_ERROR(seen.Add(entry.first));
    RETURN_IF_ERROR(
        ParseEntry(keys, source, entry.first, entry.second, config));
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
