#include "supervisor/rpc/grpc_wire.h"

#include "absl/strings/ascii.h"

namespace pitstop {

std::optional<absl::Duration> ParseGrpcTimeout(absl::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    n = n * 10 + (c - '0');
  }
  switch (value.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
  }
  return std::nullopt;
}

std::string FormatGrpcTimeout(absl::Duration timeout) {
  constexpr int64_t kMax = 99999999;  // 8 digits
  if (timeout <= absl::ZeroDuration()) return "1n";
  struct Unit {
    absl::Duration size;
    char name;
  };
  const Unit units[] = {
      {absl::Nanoseconds(1), 'n'},  {absl::Microseconds(1), 'u'},
      {absl::Milliseconds(1), 'm'}, {absl::Seconds(1), 'S'},
      {absl::Minutes(1), 'M'},      {absl::Hours(1), 'H'}};
  for (const Unit& unit : units) {
    // Rounded up, so the driver never gets less time than the daemon gives.
    const int64_t n =
        absl::ToInt64Nanoseconds(timeout + unit.size - absl::Nanoseconds(1)) /
        absl::ToInt64Nanoseconds(unit.size);
    if (n <= kMax) return std::to_string(n) + unit.name;
  }
  return std::to_string(kMax) + "H";
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e || c == '%') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::optional<GrpcMessage> SplitUnaryBody(absl::string_view body) {
  if (body.size() < 5) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  if (p[0] > 1) return std::nullopt;
  const uint64_t length = (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) |
                          (uint64_t{p[3]} << 8) | uint64_t{p[4]};
  if (body.size() - 5 != length) return std::nullopt;
  return GrpcMessage{p[0] == 1, body.substr(5)};
}

std::string FrameMessage(absl::string_view message) {
  const auto n = static_cast<uint32_t>(message.size());
  std::string out;
  out.reserve(5 + message.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(message.data(), message.size());
  return out;
}

}  // namespace pitstop
