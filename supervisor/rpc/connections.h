#ifndef PITSTOP_SUPERVISOR_RPC_CONNECTIONS_H_
#define PITSTOP_SUPERVISOR_RPC_CONNECTIONS_H_

// The router's connections: each one's HTTP/2 state and what the router
// keeps about it, which of them have output to write, and which died. A
// dead connection stays until its owner has taken it (NextDead) and let go
// of it (Remove), so the calls on it learn of the death first. Loop thread
// only (CHECKed where a connection is added or removed).

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/time/time.h"
#include "supervisor/rpc/access_policy.h"
#include "supervisor/rpc/event_loop.h"
#include "supervisor/rpc/http2_connection.h"
#include "supervisor/rpc/peer_identity.h"

namespace pitstop {

class RouterLoop;

struct Connection : Http2Connection {
  // kClient: who it is, since when, and since when without a stream.
  PeerIdentity identity;
  // Under options.access, from `identity`, once `identified` (at the first
  // stream: a TLS client's certificate is known only after the handshake).
  Role role = Role::kAdmin;
  bool identified = false;
  absl::Time opened;
  absl::Time idle_since;
  bool handshake_done = false;         // its SETTINGS arrived
  bool goaway_sent = false;            // by the router (idle, or a hand-over)
  bool awaiting_goaway_ack = false;    // the notice's PING not acknowledged
  uint64_t instance_id = 0;            // kDriver
  Connection* backend = nullptr;       // kClient: its passage to the backend
  Connection* client = nullptr;        // kBackend: the client it serves
  std::unordered_set<uint64_t> calls;  // calls with a stream here
  size_t buffered = 0;                 // kClient: bytes of routed requests held
  RouterLoop* loop = nullptr;
};

class Connections {
 public:
  Connections(EventLoop& loop, const Http2Callbacks& callbacks,
              const Http2Settings& settings, RouterLoop* owner);
  ~Connections() { CloseAll(); }
  // Closes every connection left, without telling anyone.
  void CloseAll();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // Takes `fd` (non-blocking) and `tls` (a server session over it, or null)
  // and opens its session, settings queued.
  Connection* Add(int fd, Peer peer, ssl_st* tls = nullptr);
  // The socket is readable (or hung up) or writable.
  void OnEvent(Connection* conn, uint32_t events);
  // Queues `conn` for the next FlushDirty.
  void MarkDirty(Connection* conn);
  // Marks `conn` dead, for NextDead.
  void Kill(Connection* conn, std::string reason);
  // Writes what every dirty connection has to send.
  void FlushDirty();

  // Calls `f` with every live client connection.
  template <typename F>
  void ForEachClient(F f) {
    for (auto& [id, conn] : connections_) {
      if (conn->peer == Peer::kClient && !conn->dead) f(conn.get());
    }
  }

  bool HasDirty() const { return !dirty_.empty(); }
  bool HasDead() const { return !dead_.empty(); }
  // A dead connection, no longer watched or flushed; nullptr when none.
  Connection* NextDead();
  // Closes a connection NextDead returned.
  void Remove(Connection* conn);

 private:
  void SetPollOut(Connection* conn, bool on);
  void Flush(Connection* conn);

  // Constant after construction
  EventLoop& loop_;
  const Http2Sessions sessions_;
  RouterLoop* const owner_;

  // Loop thread only
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> flushing_;  // FlushDirty's, reused
  std::vector<Connection*> dead_;
  char buffer_[kReadChunk];
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_CONNECTIONS_H_
