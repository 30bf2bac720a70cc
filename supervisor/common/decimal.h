#ifndef PITSTOP_SUPERVISOR_COMMON_DECIMAL_H_
#define PITSTOP_SUPERVISOR_COMMON_DECIMAL_H_

// Exact decimal numbers for property values: parsed from text, compared and
// printed without ever going through a binary float, so no digit is lost.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop {

class Decimal {
 public:
  // Zero.
  Decimal() = default;

  // Accepts JSON's number syntax: an optional '-', an integer part without
  // leading zeros, an optional fraction, an optional exponent ("100",
  // "-0.25", "1.5e3", "2E-2"). Refuses '+', spaces, ".5", "5.", NaN and
  // infinities, more than 100 significant digits, and exponents beyond
  // +-10000, with INVALID_ARGUMENT saying why.
  static absl::StatusOr<Decimal> Parse(absl::string_view text);

  // Canonical text: plain digits when the number has at most 30 digits
  // before or after the point ("1500", "-0.25"), scientific otherwise
  // ("1.5e+40"). Parse(ToString()) gives the same number.
  std::string ToString() const;

  // -1, 0 or 1.
  int Compare(const Decimal& other) const;
  bool operator==(const Decimal& o) const { return Compare(o) == 0; }
  bool operator<(const Decimal& o) const { return Compare(o) < 0; }
  bool operator<=(const Decimal& o) const { return Compare(o) <= 0; }
  bool operator>(const Decimal& o) const { return Compare(o) > 0; }

  bool IsInteger() const { return digits_.empty() || exponent_ >= 0; }

 private:
  // value = (negative_ ? -1 : 1) * digits_ * 10^exponent_, digits_ without
  // leading or trailing zeros; empty digits_ is zero (never negative).
  bool negative_ = false;
  std::string digits_;
  int64_t exponent_ = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_DECIMAL_H_
