#include "pitstop/sdk/properties.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace pitstop::sdk {
namespace {

namespace v1 = ::pitstop::driver::v1;

constexpr char kDecimalForm[] =
    "expected a decimal such as 100, -0.25 or 1.5e3";
constexpr char kDateForm[] =
    "expected a date such as 2026-01-31, or a date-time with seconds and an "
    "offset such as 2026-01-31T12:00:00Z or 2026-01-31T14:00:00+02:00";

// Larger exponents are clamped to this: enough to overflow any double or
// int64, small enough that exponent arithmetic cannot overflow.
constexpr int64_t kMaxExponent = 1000000000;

const char* KindName(v1::PropertyValue::ValueCase kind) {
  switch (kind) {
    case v1::PropertyValue::kStringValue:
      return "a string";
    case v1::PropertyValue::kNumberValue:
      return "a number";
    case v1::PropertyValue::kBoolValue:
      return "a boolean";
    case v1::PropertyValue::kDateValue:
      return "a date";
    case v1::PropertyValue::VALUE_NOT_SET:
      break;
  }
  return "not set";
}

absl::Status NotSet(absl::string_view key) {
  return absl::NotFoundError(absl::StrCat("property '", key, "' is not set"));
}

// The value of `key` if it is of type `want`; nullptr (and OK) when absent.
absl::StatusOr<const v1::PropertyValue*> Typed(
    const v1::PropertyValue* value, absl::string_view key,
    v1::PropertyValue::ValueCase want) {
  if (value == nullptr) return nullptr;
  if (value->value_case() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("property '", key, "' is ", KindName(value->value_case()),
                     ", not ", KindName(want)));
  }
  return value;
}

// The parts of a decimal in the protocol's syntax:
// -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?
struct Decimal {
  bool negative = false;
  absl::string_view integer_digits;
  absl::string_view fraction_digits;
  int64_t exponent = 0;  // Clamped to +-kMaxExponent.
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::string_view TakeDigits(absl::string_view& text) {
  size_t n = 0;
  while (n < text.size() && IsDigit(text[n])) ++n;
  absl::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

bool ParseDecimalSyntax(absl::string_view text, Decimal* out) {
  if (!text.empty() && text.front() == '-') {
    out->negative = true;
    text.remove_prefix(1);
  }
  out->integer_digits = TakeDigits(text);
  if (out->integer_digits.empty()) return false;
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
    out->fraction_digits = TakeDigits(text);
    if (out->fraction_digits.empty()) return false;
  }
  if (!text.empty() && (text.front() == 'e' || text.front() == 'E')) {
    text.remove_prefix(1);
    bool negative_exponent = false;
    if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
      negative_exponent = text.front() == '-';
      text.remove_prefix(1);
    }
    absl::string_view digits = TakeDigits(text);
    if (digits.empty()) return false;
    int64_t exponent = 0;
    for (char c : digits) {
      exponent = std::min(kMaxExponent, exponent * 10 + (c - '0'));
    }
    out->exponent = negative_exponent ? -exponent : exponent;
  }
  return text.empty();
}

absl::StatusOr<Decimal> CheckedDecimal(absl::string_view key,
                                       absl::string_view text) {
  Decimal decimal;
  if (!ParseDecimalSyntax(text, &decimal)) {
    return absl::InvalidArgumentError(
        absl::StrCat("property '", key, "' has malformed number '", text, "' (",
                     kDecimalForm, ")"));
  }
  return decimal;
}

absl::StatusOr<int64_t> ToInteger(absl::string_view key, absl::string_view text,
                                  const Decimal& decimal) {
  // Work on the significant digits and the exponent that applies to them, so
  // "1.50e1" and "15" and "1500e-2" all become digits "15", exponent 0.
  std::string digits =
      absl::StrCat(decimal.integer_digits, decimal.fraction_digits);
  int64_t exponent =
      decimal.exponent - static_cast<int64_t>(decimal.fraction_digits.size());
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 0;
  digits.erase(0, first);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (exponent < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("property '", key, "' is ", text, ", not a whole number"));
  }
  const absl::Status out_of_range = absl::OutOfRangeError(
      absl::StrCat("property '", key, "' is ", text,
                   ", outside the integer range -9223372036854775808 to "
                   "9223372036854775807"));
  // 19 digits always fit in uint64; int64 has at most 19.
  if (static_cast<int64_t>(digits.size()) + exponent > 19) return out_of_range;
  uint64_t magnitude = 0;
  for (char c : digits)
    magnitude = magnitude * 10 + static_cast<uint64_t>(c - '0');
  for (int64_t i = 0; i < exponent; ++i) magnitude *= 10;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (decimal.negative) {
    if (magnitude > kMax + 1) return out_of_range;
    // kMax + 1 has no positive int64 to negate.
    return magnitude == kMax + 1 ? std::numeric_limits<int64_t>::min()
                                 : -static_cast<int64_t>(magnitude);
  }
  if (magnitude > kMax) return out_of_range;
  return static_cast<int64_t>(magnitude);
}

// Reads exactly `n` digits at the front of `text` into `out`.
bool TakeFixedDigits(absl::string_view& text, size_t n, int* out) {
  if (text.size() < n) return false;
  int value = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  text.remove_prefix(n);
  return true;
}

bool TakeChar(absl::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

absl::StatusOr<absl::Time> ParseDate(absl::string_view key,
                                     absl::string_view text) {
  const absl::Status malformed = absl::InvalidArgumentError(
      absl::StrCat("property '", key, "' has malformed date '", text, "' (",
                   kDateForm, ")"));
  absl::string_view rest = text;
  int year, month, day;
  if (!TakeFixedDigits(rest, 4, &year) || !TakeChar(rest, '-') ||
      !TakeFixedDigits(rest, 2, &month) || !TakeChar(rest, '-') ||
      !TakeFixedDigits(rest, 2, &day)) {
    return malformed;
  }
  // Civil types normalize (February 30th becomes March 2nd): a date is valid
  // when it survives unchanged.
  const absl::CivilDay civil_day(year, month, day);
  if (month < 1 || month > 12 || civil_day.month() != month ||
      civil_day.day() != day) {
    return absl::InvalidArgumentError(
        absl::StrCat("property '", key, "' is '", text,
                     "', which is not a date in the calendar"));
  }
  if (rest.empty()) return absl::FromCivil(civil_day, absl::UTCTimeZone());

  int hour, minute, second;
  if (!TakeChar(rest, 'T') || !TakeFixedDigits(rest, 2, &hour) ||
      !TakeChar(rest, ':') || !TakeFixedDigits(rest, 2, &minute) ||
      !TakeChar(rest, ':') || !TakeFixedDigits(rest, 2, &second)) {
    return malformed;
  }
  int64_t nanos = 0;
  if (TakeChar(rest, '.')) {
    absl::string_view fraction = TakeDigits(rest);
    if (fraction.empty() || fraction.size() > 9) return malformed;
    for (size_t i = 0; i < 9; ++i) {
      nanos = nanos * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
    }
  }
  if (hour > 23 || minute > 59 || second > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat("property '", key, "' is '", text,
                     "', whose time of day does not exist (hours 00-23, "
                     "minutes and seconds 00-59)"));
  }
  int offset_minutes = 0;
  if (rest.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "property '", key, "' is the date-time '", text,
        "' without an offset; add Z for UTC or an offset such as +02:00"));
  }
  if (!TakeChar(rest, 'Z')) {
    const bool negative = rest.front() == '-';
    int offset_hours, offset_mins;
    if ((!TakeChar(rest, '+') && !TakeChar(rest, '-')) ||
        !TakeFixedDigits(rest, 2, &offset_hours) || !TakeChar(rest, ':') ||
        !TakeFixedDigits(rest, 2, &offset_mins) || offset_hours > 23 ||
        offset_mins > 59) {
      return malformed;
    }
    offset_minutes = (negative ? -1 : 1) * (offset_hours * 60 + offset_mins);
  }
  if (!rest.empty()) return malformed;
  const absl::CivilSecond local(year, month, day, hour, minute, second);
  return absl::FromCivil(local, absl::UTCTimeZone()) -
         absl::Minutes(offset_minutes) + absl::Nanoseconds(nanos);
}

}  // namespace

const v1::PropertyValue* Properties::Find(absl::string_view key) const {
  auto it = properties_->find(std::string(key));
  if (it == properties_->end() ||
      it->second.value_case() == v1::PropertyValue::VALUE_NOT_SET) {
    return nullptr;
  }
  return &it->second;
}

absl::StatusOr<std::string> RequireResource(
    const pitstop::driver::v1::CallContext& context, absl::string_view type) {
  if (context.resource().type() != type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "this operation acts on a ", type, " but context.resource.type is '",
        context.resource().type(), "'; set it to '", type, "'"));
  }
  if (context.resource().id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "context.resource.id is empty; set it to the id of the ", type));
  }
  return context.resource().id();
}

absl::Status Properties::RequireStrings(
    std::initializer_list<absl::string_view> keys,
    absl::string_view why) const {
  for (absl::string_view key : keys) {
    absl::StatusOr<std::string> value = GetString(key);
    if (absl::IsNotFound(value.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat("property '", key, "' is missing: ", why,
                       "; add it to the driver's property bag"));
    }
    if (!value.ok()) return value.status();
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("property '", key, "' must be a non-empty string"));
    }
  }
  return absl::OkStatus();
}

bool Properties::Has(absl::string_view key) const {
  return Find(key) != nullptr;
}

absl::StatusOr<std::string> Properties::GetString(absl::string_view key) const {
  absl::StatusOr<const v1::PropertyValue*> value =
      Typed(Find(key), key, v1::PropertyValue::kStringValue);
  if (!value.ok()) return value.status();
  if (*value == nullptr) return NotSet(key);
  return (*value)->string_value();
}

absl::StatusOr<double> Properties::GetNumber(absl::string_view key) const {
  absl::StatusOr<const v1::PropertyValue*> value =
      Typed(Find(key), key, v1::PropertyValue::kNumberValue);
  if (!value.ok()) return value.status();
  if (*value == nullptr) return NotSet(key);
  const std::string& text = (*value)->number_value();
  absl::StatusOr<Decimal> decimal = CheckedDecimal(key, text);
  if (!decimal.ok()) return decimal.status();
  double number = 0;
  // SimpleAtod is locale-independent and, on the syntax checked above,
  // rounds to nearest; it yields infinity when the value overflows.
  if (!absl::SimpleAtod(text, &number)) {
    return absl::InvalidArgumentError(
        absl::StrCat("property '", key, "' has malformed number '", text, "' (",
                     kDecimalForm, ")"));
  }
  if (std::isinf(number)) {
    return absl::OutOfRangeError(
        absl::StrCat("property '", key, "' is ", text,
                     ", too large in magnitude for a double"));
  }
  return number;
}

absl::StatusOr<int64_t> Properties::GetInteger(absl::string_view key) const {
  absl::StatusOr<const v1::PropertyValue*> value =
      Typed(Find(key), key, v1::PropertyValue::kNumberValue);
  if (!value.ok()) return value.status();
  if (*value == nullptr) return NotSet(key);
  const std::string& text = (*value)->number_value();
  absl::StatusOr<Decimal> decimal = CheckedDecimal(key, text);
  if (!decimal.ok()) return decimal.status();
  return ToInteger(key, text, *decimal);
}

absl::StatusOr<std::string> Properties::GetDecimalText(
    absl::string_view key) const {
  absl::StatusOr<const v1::PropertyValue*> value =
      Typed(Find(key), key, v1::PropertyValue::kNumberValue);
  if (!value.ok()) return value.status();
  if (*value == nullptr) return NotSet(key);
  const std::string& text = (*value)->number_value();
  absl::StatusOr<Decimal> decimal = CheckedDecimal(key, text);
  if (!decimal.ok()) return decimal.status();
  return text;
}

absl::StatusOr<bool> Properties::GetBool(absl::string_view key) const {
  absl::StatusOr<const v1::PropertyValue*> value =
      Typed(Find(key), key, v1::PropertyValue::kBoolValue);
  if (!value.ok()) return value.status();
  if (*value == nullptr) return NotSet(key);
  return (*value)->bool_value();
}

absl::StatusOr<absl::Time> Properties::GetDate(absl::string_view key) const {
  absl::StatusOr<const v1::PropertyValue*> value =
      Typed(Find(key), key, v1::PropertyValue::kDateValue);
  if (!value.ok()) return value.status();
  if (*value == nullptr) return NotSet(key);
  return ParseDate(key, (*value)->date_value());
}

absl::StatusOr<std::string> Properties::GetStringOr(
    absl::string_view key, absl::string_view fallback) const {
  if (!Has(key)) return std::string(fallback);
  return GetString(key);
}

absl::StatusOr<double> Properties::GetNumberOr(absl::string_view key,
                                               double fallback) const {
  if (!Has(key)) return fallback;
  return GetNumber(key);
}

absl::StatusOr<int64_t> Properties::GetIntegerOr(absl::string_view key,
                                                 int64_t fallback) const {
  if (!Has(key)) return fallback;
  return GetInteger(key);
}

absl::StatusOr<std::string> Properties::GetDecimalTextOr(
    absl::string_view key, absl::string_view fallback) const {
  if (!Has(key)) return std::string(fallback);
  return GetDecimalText(key);
}

absl::StatusOr<bool> Properties::GetBoolOr(absl::string_view key,
                                           bool fallback) const {
  if (!Has(key)) return fallback;
  return GetBool(key);
}

absl::StatusOr<absl::Time> Properties::GetDateOr(absl::string_view key,
                                                 absl::Time fallback) const {
  if (!Has(key)) return fallback;
  return GetDate(key);
}

}  // namespace pitstop::sdk
