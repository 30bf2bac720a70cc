#include "supervisor/common/decimal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

constexpr size_t kMaxDigits = 100;
constexpr int64_t kMaxExponent = 10000;
constexpr int64_t kPlainLimit = 30;

}  // namespace

absl::StatusOr<Decimal> Decimal::Parse(absl::string_view text) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a decimal number: ", why));
  };
  size_t i = 0;
  Decimal d;
  if (text.empty()) return bad("it is empty");
  if (text[i] == '-') {
    d.negative_ = true;
    ++i;
  }
  if (text[0] == '+') return bad("write it without '+'");
  const size_t int_start = i;
  while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
  absl::string_view int_part = text.substr(int_start, i - int_start);
  if (int_part.empty()) {
    return bad("expected digits such as 100, -0.25 or 1.5e3");
  }
  if (int_part.size() > 1 && int_part[0] == '0') return bad("leading zero");
  absl::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    const size_t frac_start = ++i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    frac_part = text.substr(frac_start, i - frac_start);
    if (frac_part.empty()) return bad("no digits after the decimal point");
  }
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool neg_exp = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      neg_exp = text[i] == '-';
      ++i;
    }
    const size_t exp_start = i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    absl::string_view exp_text = text.substr(exp_start, i - exp_start);
    if (exp_text.empty()) return bad("no digits in the exponent");
    if (exp_text.size() > 6 || !absl::SimpleAtoi(exp_text, &exponent) ||
        exponent > kMaxExponent) {
      return bad(absl::StrCat("exponent beyond +-", kMaxExponent));
    }
    if (neg_exp) exponent = -exponent;
  }
  if (i != text.size()) {
    return bad(absl::StrCat("unexpected '", text.substr(i, 1), "'"));
  }
  std::string digits = absl::StrCat(int_part, frac_part);
  exponent -= static_cast<int64_t>(frac_part.size());
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    return Decimal();  // zero, also "-0"
  }
  digits.erase(0, first);
  size_t last = digits.find_last_not_of('0');
  exponent += static_cast<int64_t>(digits.size() - 1 - last);
  digits.erase(last + 1);
  if (digits.size() > kMaxDigits) {
    return bad(absl::StrCat("more than ", kMaxDigits, " significant digits"));
  }
  const int64_t magnitude = exponent + static_cast<int64_t>(digits.size());
  if (magnitude > kMaxExponent || magnitude < -kMaxExponent) {
    return bad(absl::StrCat("beyond 1e+-", kMaxExponent));
  }
  d.digits_ = std::move(digits);
  d.exponent_ = exponent;
  return d;
}

std::string Decimal::ToString() const {
  if (digits_.empty()) return "0";
  std::string out = negative_ ? "-" : "";
  const int64_t n = static_cast<int64_t>(digits_.size());
  if (exponent_ >= 0 && n + exponent_ <= kPlainLimit) {
    absl::StrAppend(&out, digits_, std::string(exponent_, '0'));
  } else if (exponent_ < 0 && -exponent_ <= kPlainLimit) {
    if (n + exponent_ > 0) {
      absl::StrAppend(&out, digits_.substr(0, n + exponent_), ".",
                      digits_.substr(n + exponent_));
    } else {
      absl::StrAppend(&out, "0.", std::string(-exponent_ - n, '0'), digits_);
    }
  } else {
    absl::StrAppend(&out, digits_.substr(0, 1));
    if (n > 1) absl::StrAppend(&out, ".", digits_.substr(1));
    const int64_t e = exponent_ + n - 1;
    absl::StrAppend(&out, "e", e >= 0 ? "+" : "-", e >= 0 ? e : -e);
  }
  return out;
}

int Decimal::Compare(const Decimal& o) const {
  const int sign = digits_.empty() ? 0 : (negative_ ? -1 : 1);
  const int other_sign = o.digits_.empty() ? 0 : (o.negative_ ? -1 : 1);
  if (sign != other_sign) return sign < other_sign ? -1 : 1;
  if (sign == 0) return 0;
  // Same sign: compare magnitudes, then flip for negatives.
  const int64_t mag = exponent_ + static_cast<int64_t>(digits_.size());
  const int64_t other_mag =
      o.exponent_ + static_cast<int64_t>(o.digits_.size());
  int c = 0;
  if (mag != other_mag) {
    c = mag < other_mag ? -1 : 1;
  } else {
    // Same magnitude: the digit strings compare lexicographically, a
    // shorter one being padded with zeros.
    const int r = digits_.compare(o.digits_);
    c = r < 0 ? -1 : r > 0 ? 1 : 0;
  }
  return sign > 0 ? c : -c;
}

}  // namespace pitstop
