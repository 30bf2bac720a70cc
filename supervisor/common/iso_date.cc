#include "supervisor/common/iso_date.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pitstop {
namespace {

// Reads exactly `n` digits at `pos`.
bool Digits(absl::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!absl::ascii_isdigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

absl::StatusOr<IsoDate> ParseIsoDate(absl::string_view text) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not an ISO 8601 date (e.g. 2026-01-31 or "
                     "2026-01-31T12:00:00Z): ",
                     why));
  };
  int year, month, day;
  if (!Digits(text, 0, 4, &year) || text.size() < 10 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' ||
      !Digits(text, 8, 2, &day)) {
    return bad("expected YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return bad("no such month");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return bad(absl::StrFormat("%04d-%02d has no day %d", year, month, day));
  }
  IsoDate out;
  if (text.size() == 10) {
    out.canonical = std::string(text);
    out.instant =
        absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
    return out;
  }
  if (text[10] != 'T') return bad("expected 'T' between date and time");
  int hour, minute, second = 0;
  size_t i = 11;
  if (!Digits(text, i, 2, &hour) || i + 2 >= text.size() ||
      text[i + 2] != ':' || !Digits(text, i + 3, 2, &minute)) {
    return bad("expected HH:MM after 'T'");
  }
  i += 5;
  std::string fraction;
  if (i < text.size() && text[i] == ':') {
    if (!Digits(text, i + 1, 2, &second)) return bad("expected seconds as SS");
    i += 3;
    if (i < text.size() && text[i] == '.') {
      const size_t start = ++i;
      while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
      fraction = std::string(text.substr(start, i - start));
      if (fraction.empty() || fraction.size() > 9) {
        return bad("a fraction of a second needs 1 to 9 digits");
      }
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return bad("time out of range");
  if (i >= text.size()) {
    return bad("a date-time needs its time zone: Z or an offset like +02:00");
  }
  int offset_minutes = 0;
  if (text[i] == 'Z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int oh, om;
    if (!Digits(text, i + 1, 2, &oh) || i + 3 >= text.size() ||
        text[i + 3] != ':' || !Digits(text, i + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return bad("expected the offset as +HH:MM or -HH:MM");
    }
    offset_minutes = (oh * 60 + om) * (text[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return bad("a date-time needs its time zone: Z or an offset like +02:00");
  }
  if (i != text.size()) return bad("unexpected text after the time zone");

  absl::Time local =
      absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                      absl::UTCTimeZone());
  out.instant = local - absl::Minutes(offset_minutes);
  if (!fraction.empty()) {
    int64_t nanos = 0;
    for (size_t k = 0; k < 9; ++k) {
      nanos = nanos * 10 + (k < fraction.size() ? fraction[k] - '0' : 0);
    }
    out.instant += absl::Nanoseconds(nanos);
  }
  out.has_time = true;
  const absl::CivilSecond utc =
      absl::ToCivilSecond(out.instant, absl::UTCTimeZone());
  out.canonical =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d%s%sZ", utc.year(),
                      utc.month(), utc.day(), utc.hour(), utc.minute(),
                      utc.second(), fraction.empty() ? "" : ".", fraction);
  return out;
}

}  // namespace pitstop
