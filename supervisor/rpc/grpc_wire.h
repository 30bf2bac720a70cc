#ifndef PITSTOP_SUPERVISOR_RPC_GRPC_WIRE_H_
#define PITSTOP_SUPERVISOR_RPC_GRPC_WIRE_H_

// The parts of gRPC's HTTP/2 mapping that the frame router reads and writes
// itself (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
// the grpc-timeout header, the percent-encoded grpc-message, and the
// 5-byte prefix of a length-prefixed message. Pure functions.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pitstop {

// "100m" -> 100 ms. nullopt for anything the spec does not allow (1 to 8
// digits, then one of H M S m u n).
std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value);

// The shortest exact-or-rounded-up grpc-timeout value for `timeout`
// (at least 1n; negative and zero durations become "1n").
std::string FormatGrpcTimeout(absl::Duration timeout);

// grpc-message encoding: bytes outside 0x20..0x7e, and '%', as %XX.
std::string PercentEncode(absl::string_view text);

// The one message of a unary call's body: a 5-byte prefix (compressed flag,
// big-endian length) and the message bytes.
struct GrpcMessage {
  bool compressed = false;
  absl::string_view bytes;
};
// nullopt unless `body` is exactly one length-prefixed message.
std::optional<GrpcMessage> SplitUnaryBody(absl::string_view body);

// `message` with its 5-byte prefix (uncompressed).
std::string FrameMessage(absl::string_view message);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_GRPC_WIRE_H_
