#include "supervisor/schema/property_validator.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/common/quoted.h"

namespace pitstop {
namespace {

namespace dv1 = pitstop::driver::v1;

constexpr size_t kShownChars = 64;

bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += len;
  }
  return true;
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c >> 6) != 0x2;
  return n;
}

// How a value appears in a message: quoted and cut short, never a secret.
std::string Shown(absl::string_view text, bool secret) {
  if (secret) return "(value hidden: secret)";
  if (!ValidUtf8(text)) return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  if (text.size() <= kShownChars) return absl::StrCat("\"", text, "\"");
  return absl::StrCat("\"", text.substr(0, kShownChars), "...\" (",
                      CodePoints(text), " characters)");
}

// Why `text` is not `what`: the parser's own words for a short value (they
// quote it whole), a cut quote of a long one, nothing of a secret.
std::string ParseFailure(const PropertySpec& spec, absl::string_view text,
                         const absl::Status& status, absl::string_view what) {
  if (spec.secret) return absl::StrCat("value (hidden: secret) is not ", what);
  if (text.size() <= kShownChars) return std::string(status.message());
  return absl::StrCat("value ", Shown(text, false), " is not ", what);
}

absl::string_view KindOf(const dv1::PropertyValue& v) {
  switch (v.value_case()) {
    case dv1::PropertyValue::kStringValue:
      return "a string";
    case dv1::PropertyValue::kNumberValue:
      return "a number";
    case dv1::PropertyValue::kBoolValue:
      return "a boolean";
    case dv1::PropertyValue::kDateValue:
      return "a date";
    default:
      return "no value";
  }
}

dv1::PropertyValue ToProto(const PropertyScalar& s) {
  dv1::PropertyValue out;
  if (const auto* str = std::get_if<std::string>(&s)) {
    out.set_string_value(*str);
  } else if (const auto* d = std::get_if<Decimal>(&s)) {
    out.set_number_value(d->ToString());
  } else if (const auto* b = std::get_if<bool>(&s)) {
    out.set_bool_value(*b);
  } else {
    out.set_date_value(std::get<IsoDate>(s).canonical);
  }
  return out;
}

bool SameValue(const dv1::PropertyValue& a, const dv1::PropertyValue& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

class Checker {
 public:
  explicit Checker(ValidatedBag& out) : out_(out) {}

  void Add(const PropertySpec& spec, absl::string_view rule,
           std::string message) {
    out_.violations.push_back(
        {spec.key, std::string(rule), absl::StrCat(spec.key, ": ", message)});
  }

  // Parses one present value into the declared type; nullopt after adding a
  // violation.
  std::optional<PropertyScalar> Parse(const PropertySpec& spec,
                                      const dv1::PropertyValue& v) {
    const char* expected[] = {"a string", "a number", "a boolean", "a date"};
    const absl::string_view want = expected[static_cast<int>(spec.type)];
    std::string text;
    switch (v.value_case()) {
      case dv1::PropertyValue::kStringValue:
        text = v.string_value();
        break;
      case dv1::PropertyValue::kNumberValue:
        if (spec.type != PropertyType::kNumber) return WrongType(spec, v, want);
        text = v.number_value();
        break;
      case dv1::PropertyValue::kDateValue:
        if (spec.type != PropertyType::kDate) return WrongType(spec, v, want);
        text = v.date_value();
        break;
      case dv1::PropertyValue::kBoolValue:
        if (spec.type != PropertyType::kBoolean)
          return WrongType(spec, v, want);
        return PropertyScalar(v.bool_value());
      default:
        Add(spec, "type", absl::StrCat("has no value; expected ", want));
        return std::nullopt;
    }
    if (!ValidUtf8(text)) {
      Add(spec, "utf8",
          absl::StrCat("value ", Shown(text, spec.secret),
                       " is not valid UTF-8"));
      return std::nullopt;
    }
    switch (spec.type) {
      case PropertyType::kString:
        return PropertyScalar(text);
      case PropertyType::kBoolean:
        if (text == "true" || text == "false") {
          return PropertyScalar(text == "true");
        }
        Add(spec, "type",
            absl::StrCat("value ", Shown(text, spec.secret),
                         " is not a boolean: write true or "
                         "false"));
        return std::nullopt;
      case PropertyType::kNumber: {
        auto d = Decimal::Parse(text);
        if (d.ok()) return PropertyScalar(*std::move(d));
        Add(spec, "type",
            ParseFailure(spec, text, d.status(), "a decimal number"));
        return std::nullopt;
      }
      case PropertyType::kDate: {
        auto d = ParseIsoDate(text);
        if (d.ok()) return PropertyScalar(*std::move(d));
        Add(spec, "type",
            ParseFailure(spec, text, d.status(), "an ISO 8601 date"));
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  void CheckConstraints(const PropertySpec& spec, const PropertyScalar& value) {
    const std::string text = PropertyScalarText(value);
    if (const auto* s = std::get_if<std::string>(&value)) {
      if (spec.required && s->empty()) {
        Add(spec, "required", "is required and must not be empty");
      }
      if (spec.max_length && CodePoints(*s) > *spec.max_length) {
        Add(spec, "max_length",
            absl::StrCat("value ", Shown(*s, spec.secret), " is longer than ",
                         *spec.max_length, " characters"));
      }
    }
    if (const auto* d = std::get_if<Decimal>(&value)) {
      if (spec.minimum && *d < *spec.minimum) {
        Add(spec, "minimum",
            absl::StrCat("value ", Shown(text, spec.secret),
                         " is below the minimum ", spec.minimum->ToString()));
      }
      if (spec.maximum && *d > *spec.maximum) {
        Add(spec, "maximum",
            absl::StrCat("value ", Shown(text, spec.secret),
                         " is above the maximum ", spec.maximum->ToString()));
      }
    }
    if (!spec.allowed_values.empty()) {
      std::vector<std::string> allowed;
      bool found = false;
      for (const PropertyScalar& a : spec.allowed_values) {
        allowed.push_back(PropertyScalarText(a));
        found = found || allowed.back() == text;
      }
      if (!found) {
        Add(spec, "allowed_values",
            absl::StrCat("value ", Shown(text, spec.secret), " is not one of ",
                         spec.secret ? "the allowed values"
                                     : absl::StrJoin(allowed, ", ")));
      }
    }
  }

 private:
  std::optional<PropertyScalar> WrongType(const PropertySpec& spec,
                                          const dv1::PropertyValue& v,
                                          absl::string_view want) {
    Add(spec, "type",
        absl::StrCat("expected ", want, ", got ", KindOf(v),
                     " (or send its text as string_value)"));
    return std::nullopt;
  }

  ValidatedBag& out_;
};

}  // namespace

ValidatedBag ValidatePropertyBag(const DriverManifest& manifest,
                                 const PropertyBag& bag) {
  ValidatedBag out;
  Checker check(out);
  std::set<std::string> declared;
  for (const PropertySpec& spec : manifest.properties) {
    declared.insert(spec.key);
    auto it = bag.find(spec.key);
    if (it == bag.end()) {
      if (spec.default_value) {
        out.properties[spec.key] = ToProto(*spec.default_value);
        out.changed = true;
      } else if (spec.required) {
        check.Add(spec, "required", "is required but missing");
      }
      continue;
    }
    std::optional<PropertyScalar> value = check.Parse(spec, it->second);
    if (!value) continue;
    check.CheckConstraints(spec, *value);
    dv1::PropertyValue typed = ToProto(*value);
    if (!SameValue(typed, it->second)) out.changed = true;
    out.properties[spec.key] = std::move(typed);
  }
  std::vector<std::string> unknown;
  for (const auto& [key, value] : bag) {
    if (declared.count(key)) continue;
    if (manifest.allow_unknown_properties) {
      out.properties[key] = value;
    } else {
      unknown.push_back(key);
    }
  }
  std::sort(unknown.begin(), unknown.end());
  for (const std::string& key : unknown) {
    out.violations.push_back(
        {key, "unknown",
         absl::StrCat(key.size() <= kShownChars ? absl::CHexEscape(key)
                                                : Quoted(key, kShownChars),
                      ": driver ", manifest.name,
                      " declares no such property (declared: ",
                      declared.empty() ? "none" : absl::StrJoin(declared, ", "),
                      ")")});
  }
  if (!out.violations.empty()) {
    out.properties.clear();
    out.changed = false;
  }
  return out;
}

absl::Status ViolationsStatus(
    const std::string& driver,
    const std::vector<PropertyViolation>& violations) {
  if (violations.empty()) return absl::OkStatus();
  // At most kListed problems, and a bounded message: the answer always fits
  // in a gRPC status, whatever the caller sent.
  constexpr size_t kListed = 20;
  std::vector<std::string> lines;
  for (const PropertyViolation& v : violations) {
    if (lines.size() == kListed) break;
    lines.push_back(v.message);
  }
  if (violations.size() > kListed) {
    lines.push_back(absl::StrCat("and ", violations.size() - kListed, " more"));
  }
  return absl::InvalidArgumentError(Bounded(absl::StrCat(
      "the property bag for driver ", driver, " has ", violations.size(),
      violations.size() == 1 ? " problem: " : " problems: ",
      absl::StrJoin(lines, "; "), ". See `pitstop describe ", driver,
      "` for its properties")));
}

void RedactSecrets(const DriverManifest& manifest, PropertyBag* bag) {
  for (const PropertySpec& spec : manifest.properties) {
    if (!spec.secret) continue;
    auto it = bag->find(spec.key);
    if (it != bag->end()) it->second.set_string_value("***");
  }
}

}  // namespace pitstop
