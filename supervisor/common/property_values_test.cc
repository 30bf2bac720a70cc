#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "supervisor/common/decimal.h"
#include "supervisor/common/iso_date.h"

namespace pitstop {
namespace {

TEST_CASE("decimals parse exactly and print canonically", "[common]") {
  struct Case {
    const char* text;
    const char* canonical;
  };
  for (const Case& c : {
           Case{"0", "0"},
           Case{"-0", "0"},
           Case{"100", "100"},
           Case{"-0.25", "-0.25"},
           Case{"1.50", "1.5"},
           Case{"1.5e3", "1500"},
           Case{"2E-2", "0.02"},
           Case{"1e+2", "100"},
           Case{"12345678901234567890.123456789",
                "12345678901234567890.123456789"},
           Case{"1e40", "1e+40"},
           Case{"-1.25e-40", "-1.25e-40"},
           Case{"0.000", "0"},
       }) {
    INFO(c.text);
    auto d = Decimal::Parse(c.text);
    REQUIRE(d.ok());
    REQUIRE(d->ToString() == c.canonical);
    REQUIRE(Decimal::Parse(d->ToString()).value() == *d);
  }
}

TEST_CASE("text that is not a decimal is refused with the reason", "[common]") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{" 1", "expected digits"},
           Case{"1 ", "unexpected ' '"},
           Case{"+1", "without '+'"},
           Case{".5", "expected digits"},
           Case{"5.", "no digits after"},
           Case{"007", "leading zero"},
           Case{"1e", "no digits in the exponent"},
           Case{"1e99999", "exponent beyond"},
           Case{"NaN", "expected digits"},
           Case{"inf", "expected digits"},
           Case{"0x10", "unexpected 'x'"},
           Case{"1,5", "unexpected ','"},
       }) {
    INFO(c.text);
    auto d = Decimal::Parse(c.text);
    REQUIRE(d.status().code() == absl::StatusCode::kInvalidArgument);
    INFO(d.status().message());
    REQUIRE(d.status().message().find(c.reason) != std::string::npos);
  }
  REQUIRE(!Decimal::Parse(std::string(101, '7')).ok());
  REQUIRE(Decimal::Parse(std::string(100, '7')).ok());
}

TEST_CASE("decimals compare by value, beyond double precision", "[common]") {
  auto d = [](const char* s) { return Decimal::Parse(s).value(); };
  REQUIRE(d("100") == d("1e2"));
  REQUIRE(d("0.1") < d("0.10000000000000000001"));
  REQUIRE(d("9007199254740993") > d("9007199254740992"));
  REQUIRE(d("-2") < d("-1.5"));
  REQUIRE(d("-1") < d("0"));
  REQUIRE(d("0") < d("1e-100"));
  REQUIRE(d("15000") <= d("15000"));
  REQUIRE(d("1500").IsInteger());
  REQUIRE(!d("1.5").IsInteger());
}

TEST_CASE("ISO 8601 dates and date-times are checked against the calendar",
          "[common]") {
  struct Case {
    const char* text;
    const char* canonical;
  };
  for (const Case& c : {
           Case{"2026-01-31", "2026-01-31"},
           Case{"2024-02-29", "2024-02-29"},
           Case{"2000-02-29", "2000-02-29"},
           Case{"2026-01-31T12:00:00Z", "2026-01-31T12:00:00Z"},
           Case{"2026-01-31T14:00:00+02:00", "2026-01-31T12:00:00Z"},
           Case{"2026-01-01T01:30-02:30", "2026-01-01T04:00:00Z"},
           Case{"2026-12-31T23:00:00-01:00", "2027-01-01T00:00:00Z"},
           Case{"2026-01-31T12:00:00.25Z", "2026-01-31T12:00:00.25Z"},
       }) {
    INFO(c.text);
    auto d = ParseIsoDate(c.text);
    REQUIRE(d.ok());
    REQUIRE(d->canonical == c.canonical);
  }
  REQUIRE(ParseIsoDate("2026-01-31T14:00:00+02:00")->instant ==
          ParseIsoDate("2026-01-31T12:00:00Z")->instant);
  for (const char* bad :
       {"2026-02-29", "1900-02-29", "2026-13-01", "2026-04-31", "2026-00-10",
        "2026-1-31", "26-01-31", "2026-01-31T12:00:00", "2026-01-31 12:00Z",
        "2026-01-31T24:00:00Z", "2026-01-31T12:60Z", "2026-01-31T12:00:61Z",
        "2026-01-31T12:00:00+2", "2026-01-31T12:00:00Zjunk", "", "tomorrow",
        "2026-01-31T12:00:00.Z"}) {
    INFO(bad);
    REQUIRE(ParseIsoDate(bad).status().code() ==
            absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("a refused ISO 8601 date says which part is wrong", "[common]") {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {
           Case{"2026-1-31", "expected YYYY-MM-DD"},
           Case{"2026-13-01", "no such month"},
           Case{"2026-02-29", "2026-02 has no day 29"},
           Case{"2026-01-31 12:00Z", "expected 'T' between date and time"},
           Case{"2026-01-31T12", "expected HH:MM after 'T'"},
           Case{"2026-01-31T12:00:5Z", "expected seconds as SS"},
           Case{"2026-01-31T12:00:00.Z",
                "a fraction of a second needs 1 to 9 digits"},
           Case{"2026-01-31T12:00:00.1234567890Z",
                "a fraction of a second needs 1 to 9 digits"},
           Case{"2026-01-31T24:00Z", "time out of range"},
           Case{"2026-01-31T12:00:00",
                "a date-time needs its time zone: Z or an offset like "
                "+02:00"},
           Case{"2026-01-31T12:00:00U",
                "a date-time needs its time zone: Z or an offset like "
                "+02:00"},
           Case{"2026-01-31T12:00+24:00",
                "expected the offset as +HH:MM or -HH:MM"},
           Case{"2026-01-31T12:00Z ", "unexpected text after the time zone"},
       }) {
    INFO(c.text);
    auto d = ParseIsoDate(c.text);
    REQUIRE(d.status().code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(std::string(d.status().message()) ==
            absl::StrCat("'", c.text,
                         "' is not an ISO 8601 date (e.g. 2026-01-31 or "
                         "2026-01-31T12:00:00Z): ",
                         c.why));
  }
}

TEST_CASE("a date-time's fraction is kept to the nanosecond across an offset",
          "[common]") {
  auto d = ParseIsoDate("2026-01-01T00:30:00.123456789+01:00");
  REQUIRE(d.ok());
  REQUIRE(d->has_time);
  REQUIRE(d->canonical == "2025-12-31T23:30:00.123456789Z");
  REQUIRE(d->instant ==
          absl::FromCivil(absl::CivilSecond(2025, 12, 31, 23, 30, 0),
                          absl::UTCTimeZone()) +
              absl::Nanoseconds(123456789));
  auto day = ParseIsoDate("2026-01-31");
  REQUIRE(day.ok());
  REQUIRE(!day->has_time);
}

}  // namespace
}  // namespace pitstop
