#include "pitstop/sdk/properties.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/time/civil_time.h"

namespace pitstop::sdk {
namespace {

namespace v1 = ::pitstop::driver::v1;

// A call context whose bag holds one property "k" with a number's text.
v1::CallContext WithNumber(const std::string& text) {
  v1::CallContext context;
  (*context.mutable_properties())["k"].set_number_value(text);
  return context;
}

v1::CallContext WithDate(const std::string& text) {
  v1::CallContext context;
  (*context.mutable_properties())["k"].set_date_value(text);
  return context;
}

// One of each type, as the daemon sends them.
v1::CallContext Bag() {
  v1::CallContext context;
  auto& props = *context.mutable_properties();
  props["name"].set_string_value("array-1");
  props["empty"].set_string_value("");
  props["iops"].set_number_value("15000");
  props["enabled"].set_bool_value(true);
  props["disabled"].set_bool_value(false);
  props["expires"].set_date_value("2026-01-31T12:00:00Z");
  props["unset"];  // An entry with no value.
  return context;
}

absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss),
                         absl::UTCTimeZone());
}

TEST_CASE("each accessor returns a value of its own type", "[sdk]") {
  const v1::CallContext context = Bag();
  const Properties props(context);
  CHECK(*props.GetString("name") == "array-1");
  CHECK(*props.GetString("empty") == "");
  CHECK(*props.GetNumber("iops") == 15000.0);
  CHECK(*props.GetInteger("iops") == 15000);
  CHECK(*props.GetDecimalText("iops") == "15000");
  CHECK(*props.GetBool("enabled") == true);
  CHECK(*props.GetBool("disabled") == false);
  CHECK(*props.GetDate("expires") == Utc(2026, 1, 31, 12));

  // Also from the bare map.
  CHECK(*Properties(context.properties()).GetString("name") == "array-1");
}

TEST_CASE("a missing or valueless key is NOT_FOUND, and Has says so", "[sdk]") {
  const v1::CallContext context = Bag();
  const Properties props(context);
  CHECK(props.Has("name"));
  CHECK(props.Has("empty"));
  CHECK(props.Has("disabled"));
  CHECK_FALSE(props.Has("missing"));
  CHECK_FALSE(props.Has("unset"));
  for (const char* key : {"missing", "unset"}) {
    INFO(key);
    const std::string message =
        std::string("property '") + key + "' is not set";
    CHECK(props.GetString(key).status() == absl::NotFoundError(message));
    CHECK(props.GetNumber(key).status().code() == absl::StatusCode::kNotFound);
    CHECK(props.GetInteger(key).status().code() == absl::StatusCode::kNotFound);
    CHECK(props.GetDecimalText(key).status().code() ==
          absl::StatusCode::kNotFound);
    CHECK(props.GetBool(key).status().code() == absl::StatusCode::kNotFound);
    CHECK(props.GetDate(key).status().code() == absl::StatusCode::kNotFound);
  }
}

TEST_CASE("a value of another type is INVALID_ARGUMENT naming both types",
          "[sdk]") {
  const v1::CallContext context = Bag();
  const Properties props(context);
  struct Case {
    absl::Status status;
    std::string message;
  };
  const Case cases[] = {
      {props.GetString("iops").status(),
       "property 'iops' is a number, not a string"},
      {props.GetNumber("name").status(),
       "property 'name' is a string, not a number"},
      {props.GetInteger("enabled").status(),
       "property 'enabled' is a boolean, not a number"},
      {props.GetDecimalText("expires").status(),
       "property 'expires' is a date, not a number"},
      {props.GetBool("iops").status(),
       "property 'iops' is a number, not a boolean"},
      {props.GetDate("name").status(),
       "property 'name' is a string, not a date"},
  };
  for (const Case& c : cases) {
    CHECK(c.status == absl::InvalidArgumentError(c.message));
  }

  // Number text in a string_value is still a string: no accessor converts.
  v1::CallContext text;
  (*text.mutable_properties())["k"].set_string_value("100");
  CHECK(Properties(text).GetInteger("k").status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the Or accessors fall back only when the key is absent", "[sdk]") {
  const v1::CallContext context = Bag();
  const Properties props(context);
  CHECK(*props.GetStringOr("missing", "dflt") == "dflt");
  CHECK(*props.GetStringOr("unset", "dflt") == "dflt");
  CHECK(*props.GetStringOr("empty", "dflt") == "");
  CHECK(*props.GetNumberOr("missing", 2.5) == 2.5);
  CHECK(*props.GetIntegerOr("missing", 150) == 150);
  CHECK(*props.GetIntegerOr("iops", 150) == 15000);
  CHECK(*props.GetDecimalTextOr("missing", "1.5") == "1.5");
  CHECK(*props.GetBoolOr("missing", true) == true);
  CHECK(*props.GetBoolOr("disabled", true) == false);
  CHECK(*props.GetDateOr("missing", absl::UnixEpoch()) == absl::UnixEpoch());

  // A present value of the wrong type is an error, never the fallback.
  CHECK(props.GetIntegerOr("name", 150).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(props.GetStringOr("iops", "x").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(props.GetBoolOr("name", false).status().code() ==
        absl::StatusCode::kInvalidArgument);
  const v1::CallContext bad = WithNumber("1.5");
  CHECK(Properties(bad).GetIntegerOr("k", 1).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("GetNumber reads decimal text with fractions and exponents",
          "[sdk]") {
  struct Case {
    std::string text;
    double want;
  };
  const Case cases[] = {
      {"100", 100.0},    {"-0.25", -0.25},
      {"0", 0.0},        {"-0", 0.0},
      {"1e3", 1000.0},   {"1.5e3", 1500.0},
      {"1.5E-2", 0.015}, {"2.5e+2", 250.0},
      {"007", 7.0},      {"0.1", 0.1},
      {"1e308", 1e308},  {"-1.7976931348623157e308", -1.7976931348623157e308},
      {"1e-400", 0.0},   {"0e99999999999999999999", 0.0},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const v1::CallContext context = WithNumber(c.text);
    absl::StatusOr<double> got = Properties(context).GetNumber("k");
    REQUIRE(got.ok());
    CHECK(*got == c.want);
    CHECK(*Properties(context).GetDecimalText("k") == c.text);
  }
}

TEST_CASE("GetNumber refuses values beyond the range of double", "[sdk]") {
  for (const char* text : {"1e309", "-1e400", "1e99999999999999999999"}) {
    INFO(text);
    const v1::CallContext context = WithNumber(text);
    absl::Status status = Properties(context).GetNumber("k").status();
    CHECK(status.code() == absl::StatusCode::kOutOfRange);
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains("property 'k'"));
  }
}

TEST_CASE("number text outside the protocol's syntax is INVALID_ARGUMENT",
          "[sdk]") {
  for (const char* text :
       {"",    "-",     "+1",    " 1",   "1 ",    "1,5",     "1.",
        ".5",  "1e",    "1e+",   "0x10", "inf",   "-inf",    "NaN",
        "nan", "1.5.2", "1e3.0", "--1",  "1_000", "\xd9\xa1"}) {
    INFO(text);
    const v1::CallContext context = WithNumber(text);
    const Properties props(context);
    absl::Status status = props.GetNumber("k").status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains("malformed number"));
    CHECK(props.GetInteger("k").status().code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(props.GetDecimalText("k").status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("GetInteger is exact: whole numbers in any notation, nothing else",
          "[sdk]") {
  struct Case {
    std::string text;
    int64_t want;
  };
  const Case cases[] = {
      {"0", 0},
      {"-0", 0},
      {"0.000", 0},
      {"0e-99", 0},
      {"42", 42},
      {"-42", -42},
      {"1.0", 1},
      {"1e3", 1000},
      {"1.5e3", 1500},
      {"-2.50e2", -250},
      {"1500e-2", 15},
      {"15000000e-6", 15},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"9.223372036854775807e18", std::numeric_limits<int64_t>::max()},
      // Beyond double's 53 bits: exact, not rounded.
      {"9007199254740993", int64_t{9007199254740993}},
      {"00000000000000000000000000042", 42},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const v1::CallContext context = WithNumber(c.text);
    absl::StatusOr<int64_t> got = Properties(context).GetInteger("k");
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    CHECK(*got == c.want);
  }
}

TEST_CASE("GetInteger refuses fractions and values beyond int64", "[sdk]") {
  struct Case {
    std::string text;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"1.5", absl::StatusCode::kInvalidArgument},
      {"-0.25", absl::StatusCode::kInvalidArgument},
      {"1e-3", absl::StatusCode::kInvalidArgument},
      {"1.5E-2", absl::StatusCode::kInvalidArgument},
      {"12345e-1", absl::StatusCode::kInvalidArgument},
      {"1e-99999999999999999999", absl::StatusCode::kInvalidArgument},
      {"1e30", absl::StatusCode::kOutOfRange},
      {"1.5e30", absl::StatusCode::kOutOfRange},
      {"9223372036854775808", absl::StatusCode::kOutOfRange},
      {"-9223372036854775809", absl::StatusCode::kOutOfRange},
      {"18446744073709551616", absl::StatusCode::kOutOfRange},
      {"99999999999999999999", absl::StatusCode::kOutOfRange},
      {"1e99999999999999999999", absl::StatusCode::kOutOfRange},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const v1::CallContext context = WithNumber(c.text);
    absl::Status status = Properties(context).GetInteger("k").status();
    CHECK(status.code() == c.code);
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains("property 'k' is " + c.text));
  }
}

TEST_CASE("GetDate reads dates as UTC midnight and date-times with offsets",
          "[sdk]") {
  struct Case {
    std::string text;
    absl::Time want;
  };
  const Case cases[] = {
      {"2026-01-31", Utc(2026, 1, 31)},
      {"2024-02-29", Utc(2024, 2, 29)},
      {"2000-02-29", Utc(2000, 2, 29)},
      {"2026-01-31T12:00:00Z", Utc(2026, 1, 31, 12)},
      {"2026-01-31T14:00:00+02:00", Utc(2026, 1, 31, 12)},
      {"2026-01-31T01:30:00+02:00", Utc(2026, 1, 30, 23, 30)},
      {"2026-12-31T22:00:00-05:30", Utc(2027, 1, 1, 3, 30)},
      {"2026-01-31T12:00:00-00:00", Utc(2026, 1, 31, 12)},
      {"2024-02-29T23:59:59Z", Utc(2024, 2, 29, 23, 59, 59)},
      {"2026-01-31T12:00:00.25Z",
       Utc(2026, 1, 31, 12) + absl::Milliseconds(250)},
      {"2026-01-31T12:00:00.000000001Z",
       Utc(2026, 1, 31, 12) + absl::Nanoseconds(1)},
      {"1969-12-31T23:59:59Z", absl::UnixEpoch() - absl::Seconds(1)},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const v1::CallContext context = WithDate(c.text);
    absl::StatusOr<absl::Time> got = Properties(context).GetDate("k");
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    CHECK(*got == c.want);
  }
}

TEST_CASE("GetDate refuses malformed, impossible and zoneless dates", "[sdk]") {
  struct Case {
    std::string text;
    std::string message_part;
  };
  const Case cases[] = {
      {"", "malformed date"},
      {"2026-1-31", "malformed date"},
      {"26-01-31", "malformed date"},
      {"2026/01/31", "malformed date"},
      {"20260131", "malformed date"},
      {"2026-01-31 12:00:00Z", "malformed date"},
      {"2026-01-31T12:00Z", "malformed date"},
      {"2026-01-31T12:00:00.Z", "malformed date"},
      {"2026-01-31T12:00:00.1234567890Z", "malformed date"},
      {"2026-01-31T12:00:00+0200", "malformed date"},
      {"2026-01-31T12:00:00+02", "malformed date"},
      {"2026-01-31T12:00:00+24:00", "malformed date"},
      {"2026-01-31T12:00:00z", "malformed date"},
      {"2026-01-31T12:00:00Z ", "malformed date"},
      {"2026-01-31x", "malformed date"},
      {"2026-02-29", "not a date in the calendar"},
      {"2100-02-29", "not a date in the calendar"},
      {"2026-13-01", "not a date in the calendar"},
      {"2026-00-10", "not a date in the calendar"},
      {"2026-04-31", "not a date in the calendar"},
      {"2026-01-00", "not a date in the calendar"},
      {"2026-01-31T24:00:00Z", "time of day does not exist"},
      {"2026-01-31T12:60:00Z", "time of day does not exist"},
      {"2016-12-31T23:59:60Z", "time of day does not exist"},
      {"2026-01-31T12:00:00", "without an offset"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const v1::CallContext context = WithDate(c.text);
    absl::Status status = Properties(context).GetDate("k").status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains("property 'k'") &&
                   Catch::Matchers::Contains(c.message_part));
  }
}

TEST_CASE("error messages never quote a string value", "[sdk]") {
  v1::CallContext context;
  (*context.mutable_properties())["admin_password"].set_string_value("s3cret");
  const Properties props(context);
  for (const absl::Status& status :
       {props.GetNumber("admin_password").status(),
        props.GetInteger("admin_password").status(),
        props.GetBool("admin_password").status(),
        props.GetDate("admin_password").status()}) {
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               !Catch::Matchers::Contains("s3cret"));
  }
}

TEST_CASE("required backend properties must be present non-empty strings",
          "[sdk]") {
  v1::CallContext context;
  auto& p = *context.mutable_properties();
  p["vip"].set_string_value("10.0.0.5");
  p["empty"].set_string_value("");
  p["flag"].set_bool_value(true);
  const Properties props(context);
  REQUIRE(props.RequireStrings({"vip"}, "needed").ok());
  absl::Status missing = props.RequireStrings({"vip", "user"}, "it needs both");
  REQUIRE(missing.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(missing.message()) ==
          "property 'user' is missing: it needs both; add it to the driver's "
          "property bag");
  REQUIRE(std::string(props.RequireStrings({"empty"}, "x").message()) ==
          "property 'empty' must be a non-empty string");
  REQUIRE(props.RequireStrings({"flag"}, "x").code() ==
          absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the call's resource must be of the operation's type and named",
          "[sdk]") {
  v1::CallContext context;
  context.mutable_resource()->set_type("volume");
  context.mutable_resource()->set_id("v1");
  REQUIRE(RequireResource(context, "volume").value() == "v1");
  REQUIRE(
      std::string(RequireResource(context, "snapshot").status().message()) ==
      "this operation acts on a snapshot but context.resource.type is "
      "'volume'; set it to 'snapshot'");
  context.mutable_resource()->clear_id();
  REQUIRE(std::string(RequireResource(context, "volume").status().message()) ==
          "context.resource.id is empty; set it to the id of the volume");
}

}  // namespace
}  // namespace pitstop::sdk
