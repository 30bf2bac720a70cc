#include "supervisor/schema/property_validator.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "supervisor/common/quoted.h"

namespace pitstop {
namespace {

namespace dv1 = pitstop::driver::v1;

DriverManifest Schema() {
  auto m = ParseDriverManifest(R"(name: demo
version: 1.0.0
category: storage
entrypoint: bin/demo
properties:
  - {key: vip, type: string, required: true, max_length: 8}
  - {key: password, type: string, required: true, secret: true, max_length: 6}
  - {key: iops, type: number, minimum: 100, maximum: 15000, default: 100}
  - {key: ratio, type: number}
  - {key: enabled, type: boolean, default: true}
  - {key: expires, type: date}
  - {key: mode, type: string, allowed_values: [fast, safe]}
)",
                               "driver.yaml");
  REQUIRE(m.ok());
  return *m;
}

dv1::PropertyValue Str(const std::string& s) {
  dv1::PropertyValue v;
  v.set_string_value(s);
  return v;
}
dv1::PropertyValue Num(const std::string& s) {
  dv1::PropertyValue v;
  v.set_number_value(s);
  return v;
}
dv1::PropertyValue Bool(bool b) {
  dv1::PropertyValue v;
  v.set_bool_value(b);
  return v;
}
dv1::PropertyValue Date(const std::string& s) {
  dv1::PropertyValue v;
  v.set_date_value(s);
  return v;
}

// A valid bag, to which each case adds or overrides one key.
PropertyBag Base() {
  PropertyBag bag;
  bag["vip"] = Str("10.0.0.5");
  bag["password"] = Str("s3cret");
  return bag;
}

TEST_CASE("a valid bag gets its defaults and canonical typed values",
          "[schema]") {
  PropertyBag bag = Base();
  bag["ratio"] = Str("1.50e1");
  bag["expires"] = Str("2026-01-31T14:00:00+02:00");
  bag["enabled"] = Str("false");
  ValidatedBag out = ValidatePropertyBag(Schema(), bag);
  REQUIRE(out.violations.empty());
  REQUIRE(out.changed);
  REQUIRE(out.properties.at("iops").number_value() == "100");
  REQUIRE(out.properties.at("ratio").number_value() == "15");
  REQUIRE(out.properties.at("expires").date_value() == "2026-01-31T12:00:00Z");
  REQUIRE(out.properties.at("enabled").has_bool_value());
  REQUIRE(!out.properties.at("enabled").bool_value());
  REQUIRE(out.properties.at("vip").string_value() == "10.0.0.5");
  REQUIRE(out.properties.count("mode") == 0);
}

TEST_CASE("an already canonical complete bag is passed on unchanged",
          "[schema]") {
  PropertyBag bag = Base();
  bag["iops"] = Num("200");
  bag["enabled"] = Bool(true);
  bag["expires"] = Date("2024-02-29");
  ValidatedBag out = ValidatePropertyBag(Schema(), bag);
  REQUIRE(out.violations.empty());
  REQUIRE(!out.changed);
}

TEST_CASE("every rule is checked and reported", "[schema]") {
  struct Case {
    const char* what;
    const char* key;
    dv1::PropertyValue value;
    const char* rule;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty required string", "vip", Str(""), "required",
       "vip: is required and must not be empty"},
      {"too long", "vip", Str("123456789"), "max_length",
       "vip: value \"123456789\" is longer than 8 characters"},
      {"multibyte counts characters", "vip", Str("\xC3\xA9\xC3\xA9\xC3\xA9"),
       "", ""},
      {"very long value is cut short", "vip", Str(std::string(5000, 'x')),
       "max_length", "...\" (5000 characters) is longer than 8"},
      {"not UTF-8", "vip", Str("\xff\xfe"), "utf8", "is not valid UTF-8"},
      {"number below minimum", "iops", Num("99"), "minimum",
       "iops: value \"99\" is below the minimum 100"},
      {"number above maximum", "iops", Str("1.5e4000"), "maximum",
       "is above the maximum 15000"},
      {"number at maximum", "iops", Str("15000"), "", ""},
      {"exponent form", "iops", Str("1.2E3"), "", ""},
      {"whitespace around a number", "iops", Str(" 200"), "type",
       "' 200' is not a decimal number"},
      {"empty number", "ratio", Str(""), "type", "it is empty"},
      {"float syntax", "ratio", Str("NaN"), "type", "not a decimal number"},
      {"number sent for a string", "vip", Num("5"), "type",
       "vip: expected a string, got a number"},
      {"boolean spelled yes", "enabled", Str("yes"), "type",
       "is not a boolean: write true or false"},
      {"boolean in capitals", "enabled", Str("TRUE"), "type", "not a boolean"},
      {"non-leap day", "expires", Str("2026-02-29"), "type", "has no day 29"},
      {"date-time without zone", "expires", Str("2026-01-31T10:00:00"), "type",
       "needs its time zone"},
      {"date sent as number", "expires", Num("20260131"), "type",
       "expected a date, got a number"},
      {"value not in the allowed list", "mode", Str("slow"), "allowed_values",
       "mode: value \"slow\" is not one of fast, safe"},
      {"allowed value", "mode", Str("safe"), "", ""},
      {"no value set", "ratio", dv1::PropertyValue(), "type",
       "has no value; expected a number"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    PropertyBag bag = Base();
    bag[c.key] = c.value;
    ValidatedBag out = ValidatePropertyBag(Schema(), bag);
    if (std::string(c.rule).empty()) {
      REQUIRE(out.violations.empty());
      continue;
    }
    REQUIRE(out.violations.size() == 1);
    REQUIRE(out.violations[0].key == c.key);
    REQUIRE(out.violations[0].rule == c.rule);
    INFO(out.violations[0].message);
    REQUIRE(out.violations[0].message.find(c.message) != std::string::npos);
    REQUIRE(out.properties.empty());
  }
}

TEST_CASE("all violations are listed together, secrets never shown",
          "[schema]") {
  PropertyBag bag;
  bag["password"] = Str("far-too-long-secret");
  bag["iops"] = Num("7");
  bag["colour"] = Str("blue");
  ValidatedBag out = ValidatePropertyBag(Schema(), bag);
  REQUIRE(out.violations.size() == 4);
  REQUIRE(out.violations[0].rule == "required");    // vip
  REQUIRE(out.violations[1].rule == "max_length");  // password
  REQUIRE(out.violations[2].rule == "minimum");
  REQUIRE(out.violations[3].rule == "unknown");
  REQUIRE(out.violations[3].message.find("colour: driver demo declares no "
                                         "such property") != std::string::npos);
  absl::Status status = ViolationsStatus("demo", out.violations);
  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  const std::string text(status.message());
  REQUIRE(text.find("has 4 problems") != std::string::npos);
  REQUIRE(text.find("vip: is required but missing") != std::string::npos);
  REQUIRE(text.find("far-too-long-secret") == std::string::npos);
  REQUIRE(text.find("(value hidden: secret)") != std::string::npos);

  PropertyBag wrong = Base();
  wrong["password"] = Num("12345");
  out = ValidatePropertyBag(Schema(), wrong);
  REQUIRE(out.violations.size() == 1);
  REQUIRE(out.violations[0].message.find("12345") == std::string::npos);
}

TEST_CASE("a driver may accept undeclared keys for forward compatibility",
          "[schema]") {
  DriverManifest m = Schema();
  m.allow_unknown_properties = true;
  PropertyBag bag = Base();
  bag["future_knob"] = Str("on");
  ValidatedBag out = ValidatePropertyBag(m, bag);
  REQUIRE(out.violations.empty());
  REQUIRE(out.properties.at("future_knob").string_value() == "on");
}

TEST_CASE("secret values are redacted in bags shown back", "[schema]") {
  PropertyBag bag = Base();
  RedactSecrets(Schema(), &bag);
  REQUIRE(bag.at("password").string_value() == "***");
  REQUIRE(bag.at("vip").string_value() == "10.0.0.5");
}

}  // namespace
}  // namespace pitstop

namespace pitstop {
namespace {

TEST_CASE(
    "errors about huge values and keys quote at most 64 bytes of each, and "
    "the whole answer stays bounded",
    "[schema]") {
  const std::string huge(64 * 1024, '7');
  PropertyBag bag = Base();
  bag["ratio"] = Num(huge + ",");
  bag["expires"] = Date(huge);
  bag[std::string(16 * 1024, 'k')] = Str("x");
  for (int i = 0; i < 100000; ++i) bag[absl::StrCat("unknown-", i)] = Str("");
  ValidatedBag out = ValidatePropertyBag(Schema(), bag);
  REQUIRE(out.violations.size() == 100003);
  for (const PropertyViolation& v : out.violations) {
    INFO(v.message.substr(0, 200));
    REQUIRE(v.message.size() < 600);
  }
  const absl::Status s = ViolationsStatus("demo", out.violations);
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s.message().size() <= kMaxErrorBytes);
  REQUIRE(s.message().find("has 100003 problems") != std::string::npos);
  REQUIRE(s.message().find("(65537 characters) is not a decimal number") !=
          std::string::npos);
}

}  // namespace
}  // namespace pitstop
