#include "supervisor/daemon/daemon_options.h"

#include <unistd.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {

namespace fs = std::filesystem;

SandboxOptions SandboxOptionsFor(const DaemonConfig& config) {
  SandboxOptions sandbox;
  sandbox.mode = config.sandbox == "strict" ||
                         (config.sandbox == "auto" && ::geteuid() == 0)
                     ? SandboxMode::kStrict
                     : SandboxMode::kBestEffort;
  sandbox.scratch_dir = (fs::path(config.state_dir) / "sandbox").string();
  sandbox.uid_base = config.sandbox_uid_base;
  sandbox.keeper_dir = (fs::path(config.state_dir) / "keepers").string();
  return sandbox;
}

SupervisorOptions SupervisorOptionsFor(const DaemonConfig& config) {
  SupervisorOptions options;
  options.run_dir = (fs::path(config.state_dir) / "run").string();
  options.data_dir = (fs::path(config.state_dir) / "data").string();
  options.max_route_wait = config.max_route_wait;
  options.restart.max_restarts = config.restart_max;
  options.restart.window = config.restart_window;
  options.restart.initial_backoff = config.restart_initial_backoff;
  options.restart.max_backoff = config.restart_max_backoff;
  options.health_interval = config.health_interval;
  options.health_failures = config.health_failures;
  options.degraded_grace = config.degraded_grace;
  options.upgrade_probation = config.upgrade_probation;
  options.sandbox.max_memory_mb = config.max_memory_mb;
  options.sandbox.max_pids = config.max_pids;
  options.sandbox.max_open_files = config.max_open_files;
  options.sandbox.network_grants = {config.network_grants.begin(),
                                    config.network_grants.end()};
  return options;
}

ListenerLimits ListenerLimitsFor(const DaemonConfig& c) {
  ListenerLimits limits;
  limits.max_header_list_bytes = c.listener_max_header_bytes;
  limits.max_streams_per_connection = c.listener_max_streams;
  limits.max_connections = c.listener_max_connections;
  limits.max_connections_per_peer = c.listener_max_connections_per_peer;
  limits.handshake_timeout = c.listener_handshake_timeout;
  limits.idle_timeout = c.listener_idle_timeout;
  limits.request_timeout = c.listener_request_timeout;
  limits.max_buffered_bytes = c.listener_max_buffered_mb << 20;
  limits.max_buffered_per_connection = c.listener_max_buffered_mb_per_connection
                                       << 20;
  return limits;
}

// The principals of one list of the configuration; INVALID_ARGUMENT for
// one that does not parse, a warning for a name this host does not know.
namespace {

absl::StatusOr<std::vector<Principal>> PrincipalsFor(
    const std::string& where, const std::vector<std::string>& texts) {
  std::vector<Principal> out;
  for (const std::string& text : texts) {
    absl::StatusOr<Principal> p = ParsePrincipal(text);
    if (p.ok()) {
      out.push_back(*std::move(p));
    } else if (p.status().code() == absl::StatusCode::kNotFound) {
      LogWarning("pitstopd", absl::StrCat(where, ": ", p.status().message(),
                                          "; this entry matches no one"));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", p.status().message()));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const AccessPolicy>> AccessPolicyFor(
    const DaemonConfig& c) {
  auto policy = std::make_shared<AccessPolicy>();
  const std::pair<const char*, std::vector<Principal>*> roles[] = {
      {"admin", &policy->admins},
      {"operator", &policy->operators},
      {"viewer", &policy->viewers}};
  for (const auto& [name, list] : roles) {
    auto it = c.roles.find(name);
    if (it == c.roles.end()) continue;
    ASSIGN_OR_RETURN(*list,
                     PrincipalsFor(absl::StrCat("roles.", name), it->second));
  }
  for (const auto& [driver, texts] : c.callers) {
    ASSIGN_OR_RETURN(policy->callers[driver],
                     PrincipalsFor(absl::StrCat("callers.", driver), texts));
  }
  return std::shared_ptr<const AccessPolicy>(std::move(policy));
}

absl::StatusOr<std::shared_ptr<const TlsServerContext>> ListenerTlsFor(
    const DaemonConfig& c) {
  const int given =
      !c.tls_cert.empty() + !c.tls_key.empty() + !c.tls_client_ca.empty();
  const bool unix_socket = absl::StartsWith(c.listen, "unix:");
  if (given != 0 && given != 3) {
    return absl::FailedPreconditionError(
        "tls_cert, tls_key and tls_client_ca go together: set all three "
        "(docs/security.md, \"TLS\"), or none");
  }
  if (given == 3) {
    if (unix_socket) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tls_cert is set but listen is ", c.listen,
          ": TLS is for TCP (a Unix socket's clients are known by their "
          "uid); listen on host:port, or remove the tls_* keys"));
    }
    ASSIGN_OR_RETURN(std::shared_ptr<TlsServerContext> tls,
                     TlsServerContext::Load(
                         TlsFiles{c.tls_cert, c.tls_key, c.tls_client_ca}));
    return std::shared_ptr<const TlsServerContext>(std::move(tls));
  }
  if (unix_socket) return std::shared_ptr<const TlsServerContext>();
  if (!c.insecure_tcp) {
    return absl::FailedPreconditionError(absl::StrCat(
        "listen ", c.listen,
        ": TCP without TLS lets anyone who can reach the port act with the "
        "roles given to 'tcp', unencrypted. Set tls_cert, tls_key and "
        "tls_client_ca (docs/security.md, \"TLS\"), listen on a Unix socket "
        "(unix:/PATH), or set insecure_tcp: true to accept this "
        "(logged at every start)"));
  }
  LogWarning("pitstopd",
             "insecure_tcp: serving on TCP without TLS; anyone who can reach "
             "the port acts with the roles given to 'tcp'",
             {{"address", c.listen}});
  return std::shared_ptr<const TlsServerContext>();
}

FetchOptions FetchOptionsFor(const DaemonConfig& config) {
  FetchOptions fetch;
  fetch.trust_dir = config.trust_dir;
  fetch.max_index_bytes = config.repo_max_index_bytes;
  fetch.timeout = config.repo_fetch_timeout;
  fetch.stall_timeout = config.repo_stall_timeout;
  return fetch;
}

}  // namespace pitstop
