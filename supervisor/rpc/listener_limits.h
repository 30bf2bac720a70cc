#ifndef PITSTOP_SUPERVISOR_RPC_LISTENER_LIMITS_H_
#define PITSTOP_SUPERVISOR_RPC_LISTENER_LIMITS_H_

// What one client, or all of them, may make the router spend
// (docs/security.md, "Limits"). Each bound has a refusal a client can
// understand and costs the daemon a bounded amount; the defaults are meant
// to be kept in production.

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace pitstop {

struct ListenerLimits {
  // A stream's header list (or trailers), counted after HPACK decoding as
  // RFC 9113 does (name + value + 32 a field); advertised as
  // SETTINGS_MAX_HEADER_LIST_SIZE. Past it the call is refused
  // RESOURCE_EXHAUSTED and nothing more of its headers is kept.
  size_t max_header_list_bytes = 16 << 10;
  // Streams open at once on one client connection (advertised as
  // SETTINGS_MAX_CONCURRENT_STREAMS; more are refused with REFUSED_STREAM).
  uint32_t max_streams_per_connection = 100;
  // Client connections open at once, in all and per peer (a Unix socket's
  // peer uid, a TCP peer's address); more are closed at accept.
  size_t max_connections = 1024;
  size_t max_connections_per_peer = 256;
  // A connection must send its HTTP/2 preface and SETTINGS within this.
  absl::Duration handshake_timeout = absl::Seconds(10);
  // A connection without a stream this long gets GOAWAY (and closes).
  absl::Duration idle_timeout = absl::Hours(1);
  // A routed request must have arrived whole within this (or its deadline,
  // when sooner): DEADLINE_EXCEEDED otherwise, and its bytes are let go.
  absl::Duration request_timeout = absl::Seconds(30);
  // Bytes of routed requests held, per connection and in all; a request
  // over either is refused RESOURCE_EXHAUSTED.
  size_t max_buffered_per_connection = 128 << 20;
  size_t max_buffered_bytes = 512 << 20;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_LISTENER_LIMITS_H_
