#include "supervisor/common/iso_date.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "supervisor/common/status_macros.h"

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

absl::Status Bad(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("'", text,
                   "' is not an ISO 8601 date (e.g. 2026-01-31 or "
                   "2026-01-31T12:00:00Z): ",
                   why));
}

// The fields of a date-time as written, before its offset is applied.
struct DateTimeFields {
  int year = 0, month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  std::string fraction;  // the digits after '.', as written
  int offset_minutes = 0;
};

// "YYYY-MM-DD" at the start of `text`, a real calendar day.
absl::Status ParseDate(absl::string_view text, DateTimeFields& f) {
  if (!Digits(text, 0, 4, &f.year) || text.size() < 10 || text[4] != '-' ||
      !Digits(text, 5, 2, &f.month) || text[7] != '-' ||
      !Digits(text, 8, 2, &f.day)) {
    return Bad(text, "expected YYYY-MM-DD");
  }
  if (f.month < 1 || f.month > 12) return Bad(text, "no such month");
  if (f.day < 1 || f.day > DaysInMonth(f.year, f.month)) {
    return Bad(text, absl::StrFormat("%04d-%02d has no day %d", f.year, f.month,
                                     f.day));
  }
  return absl::OkStatus();
}

// ".fraction" at `*i` (just after the seconds), if there is one.
absl::Status ParseFraction(absl::string_view text, size_t* i,
                           DateTimeFields& f) {
  if (*i >= text.size() || text[*i] != '.') return absl::OkStatus();
  const size_t start = ++*i;
  while (*i < text.size() && absl::ascii_isdigit(text[*i])) ++*i;
  f.fraction = std::string(text.substr(start, *i - start));
  if (f.fraction.empty() || f.fraction.size() > 9) {
    return Bad(text, "a fraction of a second needs 1 to 9 digits");
  }
  return absl::OkStatus();
}

// "THH:MM[:SS[.fraction]]" after the date; leaves `*i` just after it.
absl::Status ParseTime(absl::string_view text, size_t* i, DateTimeFields& f) {
  if (text[10] != 'T') return Bad(text, "expected 'T' between date and time");
  *i = 11;
  if (!Digits(text, *i, 2, &f.hour) || *i + 2 >= text.size() ||
      text[*i + 2] != ':' || !Digits(text, *i + 3, 2, &f.minute)) {
    return Bad(text, "expected HH:MM after 'T'");
  }
  *i += 5;
  if (*i < text.size() && text[*i] == ':') {
    if (!Digits(text, *i + 1, 2, &f.second)) {
      return Bad(text, "expected seconds as SS");
    }
    *i += 3;
    RETURN_IF_ERROR(ParseFraction(text, i, f));
  }
  if (f.hour > 23 || f.minute > 59 || f.second > 59) {
    return Bad(text, "time out of range");
  }
  return absl::OkStatus();
}

// "Z" or "+HH:MM" / "-HH:MM" at `i`, ending the text.
absl::Status ParseZone(absl::string_view text, size_t i, DateTimeFields& f) {
  constexpr absl::string_view kNoZone =
      "a date-time needs its time zone: Z or an offset like +02:00";
  if (i >= text.size()) return Bad(text, kNoZone);
  if (text[i] == 'Z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int oh, om;
    if (!Digits(text, i + 1, 2, &oh) || i + 3 >= text.size() ||
        text[i + 3] != ':' || !Digits(text, i + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return Bad(text, "expected the offset as +HH:MM or -HH:MM");
    }
    f.offset_minutes = (oh * 60 + om) * (text[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return Bad(text, kNoZone);
  }
  if (i != text.size()) return Bad(text, "unexpected text after the time zone");
  return absl::OkStatus();
}

// The instant `f` names, in UTC, with its fraction, canonically written.
IsoDate DateTimeFromFields(const DateTimeFields& f) {
  IsoDate out;
  absl::Time local = absl::FromCivil(
      absl::CivilSecond(f.year, f.month, f.day, f.hour, f.minute, f.second),
      absl::UTCTimeZone());
  out.instant = local - absl::Minutes(f.offset_minutes);
  if (!f.fraction.empty()) {
    int64_t nanos = 0;
    for (size_t k = 0; k < 9; ++k) {
      nanos = nanos * 10 + (k < f.fraction.size() ? f.fraction[k] - '0' : 0);
    }
    out.instant += absl::Nanoseconds(nanos);
  }
  out.has_time = true;
  const absl::CivilSecond utc =
      absl::ToCivilSecond(out.instant, absl::UTCTimeZone());
  out.canonical =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d%s%sZ", utc.year(),
                      utc.month(), utc.day(), utc.hour(), utc.minute(),
                      utc.second(), f.fraction.empty() ? "" : ".", f.fraction);
  return out;
}

}  // namespace

absl::StatusOr<IsoDate> ParseIsoDate(absl::string_view text) {
  DateTimeFields f;
  RETURN_IF_ERROR(ParseDate(text, f));
  if (text.size() == 10) {
    IsoDate out;
    out.canonical = std::string(text);
    out.instant = absl::FromCivil(absl::CivilDay(f.year, f.month, f.day),
                                  absl::UTCTimeZone());
    return out;
  }
  size_t i = 0;
  RETURN_IF_ERROR(ParseTime(text, &i, f));
  RETURN_IF_ERROR(ParseZone(text, i, f));
  return DateTimeFromFields(f);
}

}  // namespace pitstop
