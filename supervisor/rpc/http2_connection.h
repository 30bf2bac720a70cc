#ifndef PITSTOP_SUPERVISOR_RPC_HTTP2_CONNECTION_H_
#define PITSTOP_SUPERVISOR_RPC_HTTP2_CONNECTION_H_

// One HTTP/2 connection of the router over nghttp2: its socket (with TLS
// over it for a TCP client when the daemon has a certificate), its session,
// and the bytes queued for the socket. The router's stream logic lives in
// the session callbacks it installs (Http2Callbacks); this layer only moves
// bytes between the socket and the session. Loop thread only.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

struct ssl_st;

namespace pitstop {

using Headers = std::vector<std::pair<std::string, std::string>>;

// nghttp2's view of `headers`; valid while `headers` is.
std::vector<nghttp2_nv> NvList(const Headers& headers);
// The first value of `name`, or nullptr.
const std::string* FindHeader(const Headers& headers, absl::string_view name);

// Receive window of every stream and of every connection: a routed message
// of up to a megabyte flows without waiting for a WINDOW_UPDATE.
inline constexpr int32_t kStreamWindow = 1 << 20;
inline constexpr int32_t kConnectionWindow = 16 << 20;
// Bytes read from one socket per wake-up before others get their turn.
inline constexpr size_t kReadChunk = 64 << 10;
// Output queued per connection before the socket is written.
inline constexpr size_t kFlushChunk = 256 << 10;

// Who is at the other end.
enum class Peer { kClient, kDriver, kBackend };

struct Http2Connection {
  uint64_t id = 0;
  int fd = -1;
  // TLS over `fd` (a TCP client of a daemon with tls_cert), else null.
  ssl_st* tls = nullptr;
  bool tls_established = false;  // the handshake finished
  bool tls_failed = false;       // the handshake failed: see dead_reason
  Peer peer = Peer::kClient;
  nghttp2_session* session = nullptr;
  std::string out;
  size_t out_sent = 0;
  bool polling_out = false;  // EPOLLOUT registered
  bool dirty = false;        // in the flush list
  bool dead = false;
  bool going_away = false;  // the peer sent GOAWAY: no new streams
  std::string dead_reason;
};

// The session callbacks the router installs.
struct Http2Callbacks {
  nghttp2_on_begin_headers_callback on_begin_headers = nullptr;
  nghttp2_on_header_callback on_header = nullptr;
  nghttp2_on_frame_recv_callback on_frame_recv = nullptr;
  nghttp2_on_data_chunk_recv_callback on_data_chunk_recv = nullptr;
  nghttp2_on_stream_close_callback on_stream_close = nullptr;
  nghttp2_on_frame_send_callback on_frame_send = nullptr;
};

// What the router advertises to its clients (ListenerLimits).
struct Http2Settings {
  uint32_t max_concurrent_streams = 100;
  uint32_t max_header_list_size = 16 << 10;
};

// The callbacks and options every session shares.
class Http2Sessions {
 public:
  Http2Sessions(const Http2Callbacks& callbacks, const Http2Settings& settings);
  ~Http2Sessions();
  Http2Sessions(const Http2Sessions&) = delete;
  Http2Sessions& operator=(const Http2Sessions&) = delete;

  // Opens the session of `conn` (the server side towards a client, the
  // client side otherwise) with the router's settings and windows queued;
  // `user_data` reaches every callback.
  void Open(Http2Connection& conn, void* user_data) const;

 private:
  nghttp2_session_callbacks* callbacks_ = nullptr;
  nghttp2_option* option_ = nullptr;
  const Http2Settings settings_;
};

struct ReceiveResult {
  bool received = false;  // the session took bytes: it may want to write
  bool broken = false;
  std::string reason;  // why, when broken
};
// Reads what the socket has, at most 16 times `size` bytes (then the other
// connections' turn), into the session through `buffer`; with TLS, goes on
// with the handshake first.
ReceiveResult Receive(Http2Connection& conn, char* buffer, size_t size);

enum class FlushResult {
  kDrained,   // everything queued went out
  kBlocked,   // the socket is full: wait until writable
  kFinished,  // both sides are done (GOAWAY): close it
  kBroken,    // see `reason`
};
// Writes what the session has to send, buffering what the socket does not
// take yet; with TLS, nothing before the handshake has finished.
FlushResult Flush(Http2Connection& conn, std::string* reason);

// Frees `conn`'s session, TLS (after a close_notify, if the socket takes
// it) and socket.
void Close(Http2Connection& conn);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_HTTP2_CONNECTION_H_
