#ifndef PITSTOP_SUPERVISOR_COMMON_QUOTED_H_
#define PITSTOP_SUPERVISOR_COMMON_QUOTED_H_

// Text a client controls, as an error message may show it: quoted, with
// control and non-UTF-8 bytes escaped, and cut after kQuotedChars bytes (a
// note gives the full length), so that an error never echoes a megabyte
// back and always fits in a gRPC status (docs/properties.md, "Errors").

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace pitstop {

inline constexpr size_t kQuotedChars = 64;
// The longest error message the daemon sends about a client's input.
inline constexpr size_t kMaxErrorBytes = 4096;

// "'value'", or "'first 64 bytes...' (1048576 bytes)".
std::string Quoted(absl::string_view text, size_t max_bytes = kQuotedChars);

// `message` cut to kMaxErrorBytes, ending in "... (message cut)" when cut.
std::string Bounded(std::string message, size_t max_bytes = kMaxErrorBytes);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_QUOTED_H_
