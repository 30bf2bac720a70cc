#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"
#include "supervisor/rpc/router_loop.h"
#include "supervisor/rpc/tls_server.h"

// Admitting client connections and holding each to ListenerLimits: the
// connection limits at accept, a pause instead of a spin when descriptors
// run out, and a sweep once a second for handshakes, idle connections and
// requests that do not finish arriving. Every log line a client can cause
// goes through a LogLimiter.

namespace pitstop {
namespace {

// How long accepting pauses once the process is out of descriptors.
constexpr absl::Duration kDescriptorPause = absl::Milliseconds(100);

}  // namespace

void RouterLoop::WatchListener() {
  const bool want = accepting_ && !out_of_descriptors_;
  if (want == listener_watched_) return;
  if (want) {
    loop_.Watch(listen_fd_, &listen_tag_);
  } else {
    loop_.Unwatch(listen_fd_);
  }
  listener_watched_ = want;
}

void RouterLoop::AcceptClients() {
  const absl::Time now = absl::Now();
  while (true) {
    int fd = -1, error = 0;
    switch (acceptor_.Accept(&fd, &error)) {
      case Acceptor::Result::kAccepted:
        Admit(fd, now);
        continue;
      case Acceptor::Result::kNone:
        return;
      case Acceptor::Result::kOutOfDescriptors: {
        out_of_descriptors_ = true;
        WatchListener();
        loop_.AddTimer(now + kDescriptorPause, kAcceptTimer);
        int64_t count = 0;
        if (descriptors_log_.Allow(now, &count)) {
          LogWarning("router",
                     "out of file descriptors: connections refused; raise "
                     "the daemon's nofile limit (LimitNOFILE=) or lower "
                     "listener_max_connections",
                     {{"refused", std::to_string(count)},
                      {"error", std::strerror(error)}});
        }
        return;
      }
      case Acceptor::Result::kFailed: {
        int64_t count = 0;
        if (refused_log_.Allow(now, &count)) {
          LogWarning("router", absl::StrCat("accept: ", std::strerror(error)),
                     {{"count", std::to_string(count)}});
        }
        return;
      }
    }
  }
}

void RouterLoop::Admit(int fd, absl::Time now) {
  const ListenerLimits& limits = options_.limits;
  PeerIdentity identity = IdentifyPeer(fd);
  size_t& mine = per_peer_[identity.key];
  const char* full = clients_ >= limits.max_connections        ? "in all"
                     : mine >= limits.max_connections_per_peer ? "for this peer"
                                                               : nullptr;
  if (full != nullptr) {
    ::close(fd);
    if (mine == 0) per_peer_.erase(identity.key);
    int64_t count = 0;
    if (refused_log_.Allow(now, &count)) {
      LogWarning(
          "router",
          absl::StrCat("connection refused: too many connections ", full,
                       " (listener_max_connections ", limits.max_connections,
                       ", listener_max_connections_per_peer ",
                       limits.max_connections_per_peer, ")"),
          {{"peer", identity.Describe()}, {"refused", std::to_string(count)}});
    }
    return;
  }
  SSL* tls = nullptr;
  if (options_.tls != nullptr && !identity.local) {
    tls = options_.tls->NewSession(fd);
    if (tls == nullptr) {
      ::close(fd);
      if (mine == 0) per_peer_.erase(identity.key);
      LogWarning("router", "connection refused: no TLS session (OpenSSL)",
                 {{"peer", identity.Describe()}});
      return;
    }
  }
  ++mine;
  ++clients_;
  Connection* conn = connections_.Add(fd, Peer::kClient, tls);
  conn->identity = std::move(identity);
  conn->opened = now;
  conn->idle_since = now;
  gate_.ClientOpened();
}

// Who the client is, once its first stream arrives (a TLS client's
// certificate has been verified by then), and so its role.
void RouterLoop::Identify(Connection* conn) {
  conn->identified = true;
  if (conn->tls != nullptr) AddCertificateIdentity(conn->tls, &conn->identity);
  if (options_.access != nullptr) {
    conn->role = options_.access->RoleOf(conn->identity);
  }
}

void RouterLoop::ForgetClient(Connection* conn) {
  if (conn->tls_failed) {
    int64_t count = 0;
    if (tls_log_.Allow(absl::Now(), &count)) {
      LogWarning("router", conn->dead_reason,
                 {{"peer", conn->identity.Describe()},
                  {"count", std::to_string(count)}});
    }
  }
  --clients_;
  auto it = per_peer_.find(conn->identity.key);
  if (it != per_peer_.end() && --it->second == 0) per_peer_.erase(it);
  gate_.ClientClosed();
}

void RouterLoop::Sweep(absl::Time now) {
  const ListenerLimits& limits = options_.limits;
  // Kill only marks a connection dead: the map is not changed meanwhile.
  connections_.ForEachClient([&](Connection* conn) {
    if (!conn->handshake_done &&
        now - conn->opened > limits.handshake_timeout) {
      int64_t count = 0;
      if (timeout_log_.Allow(now, &count)) {
        LogWarning("router",
                   absl::StrCat("closed a connection that sent no HTTP/2 "
                                "preface and SETTINGS within ",
                                absl::FormatDuration(limits.handshake_timeout),
                                " (listener_handshake_timeout)"),
                   {{"peer", conn->identity.Describe()},
                    {"count", std::to_string(count)}});
      }
      connections_.Kill(conn, "no HTTP/2 handshake in time");
      return;
    }
    if (conn->calls.empty()) {
      if (!conn->goaway_sent && now - conn->idle_since > limits.idle_timeout) {
        // As gRPC's own max_connection_idle: the client reconnects when it
        // next has a call.
        BeginGoAway(conn);
      }
      return;
    }
    SweepCalls(conn, now);
  });
}

// Routed requests that have not arrived whole in time give their bytes back
// and are answered DEADLINE_EXCEEDED; a header block that never ends costs
// the connection.
void RouterLoop::SweepCalls(Connection* conn, absl::Time now) {
  const absl::Duration timeout = options_.limits.request_timeout;
  std::vector<Call*> late;
  for (uint64_t id : conn->calls) {
    Call* call = FindCall(id);
    if (call == nullptr || call->request_complete || call->response_submitted ||
        call->timed_out_arriving) {
      continue;
    }
    const absl::Time due = std::min(call->started + timeout, call->deadline);
    if (now < due) continue;
    if (!call->headers_done) {
      connections_.Kill(conn, "a request's headers did not finish in time");
      return;
    }
    if (call->routed) late.push_back(call);
  }
  for (Call* call : late) {
    call->timed_out_arriving = true;
    conn->buffered -= call->buffered;
    buffered_total_ -= call->buffered;
    call->buffered = 0;
    std::string().swap(call->request_body);
    call->error.reason = "REQUEST_TIMEOUT";
    Respond(call, kDeadlineExceeded,
            absl::StrCat("the request did not finish arriving within ",
                         absl::FormatDuration(options_.limits.request_timeout),
                         " (or its deadline)"));
  }
}

}  // namespace pitstop
