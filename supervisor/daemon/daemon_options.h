#ifndef PITSTOP_SUPERVISOR_DAEMON_DAEMON_OPTIONS_H_
#define PITSTOP_SUPERVISOR_DAEMON_DAEMON_OPTIONS_H_

// The daemon's configuration turned into each part's options, and the
// checks of the configuration that need the host (users, groups).

#include <memory>

#include "absl/status/statusor.h"
#include "supervisor/config/daemon_config.h"
#include "supervisor/core/supervisor_options.h"
#include "supervisor/repo/repository_fetch.h"
#include "supervisor/rpc/access_policy.h"
#include "supervisor/rpc/listener_limits.h"
#include "supervisor/rpc/tls_server.h"
#include "supervisor/sandbox/child_process_manager.h"

namespace pitstop {

SandboxOptions SandboxOptionsFor(const DaemonConfig& config);
SupervisorOptions SupervisorOptionsFor(const DaemonConfig& config);
ListenerLimits ListenerLimitsFor(const DaemonConfig& config);
FetchOptions FetchOptionsFor(const DaemonConfig& config);

// `roles` and `callers` as a policy. INVALID_ARGUMENT naming the entry
// ("roles.operator: ...") for a principal that does not parse; a user or
// group this host does not know is logged and matches no one.
absl::StatusOr<std::shared_ptr<const AccessPolicy>> AccessPolicyFor(
    const DaemonConfig& config);

// The TLS the listener serves with: null on a Unix socket, and on TCP with
// insecure_tcp: true and no tls_* keys (then a warning is logged).
// FAILED_PRECONDITION for TCP with neither, for tls_* keys on a Unix socket
// and for some tls_* keys without the others; INVALID_ARGUMENT naming the
// file for one that does not load.
absl::StatusOr<std::shared_ptr<const TlsServerContext>> ListenerTlsFor(
    const DaemonConfig& config);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_DAEMON_OPTIONS_H_
