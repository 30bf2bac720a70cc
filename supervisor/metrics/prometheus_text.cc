#include "supervisor/metrics/prometheus_text.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "supervisor/common/check.h"

namespace pitstop {
namespace {

bool NameChar(char c, bool colon) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         (colon && c == ':');
}

// Backslash and newline escaped, and double quotes too in a label value
// (a HELP text keeps them).
std::string Escape(absl::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

absl::string_view TypeName(PrometheusText::Type type) {
  switch (type) {
    case PrometheusText::Type::kCounter:
      return "counter";
    case PrometheusText::Type::kGauge:
      return "gauge";
    case PrometheusText::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool ValidMetricName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0])))
    return false;
  for (char c : name) {
    if (!NameChar(c, true)) return false;
  }
  return true;
}

bool ValidLabelName(absl::string_view name) {
  if (name.empty() ||
      absl::ascii_isdigit(static_cast<unsigned char>(name[0])) ||
      absl::StartsWith(name, "__")) {
    return false;
  }
  for (char c : name) {
    if (!NameChar(c, false)) return false;
  }
  return true;
}

std::string EscapeLabelValue(absl::string_view value) {
  return Escape(value, true);
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.17g", value);
}

void PrometheusText::Family(absl::string_view name, Type type,
                            absl::string_view help) {
  CHECK(ValidMetricName(name));
  family_ = std::string(name);
  type_ = type;
  absl::StrAppend(&text_, "# HELP ", name, " ", Escape(help, false), "\n",
                  "# TYPE ", name, " ", TypeName(type), "\n");
}

void PrometheusText::Line(absl::string_view suffix, const Labels& labels,
                          absl::string_view extra_label,
                          absl::string_view extra_value, double value) {
  absl::StrAppend(&text_, family_, suffix);
  if (!labels.empty() || !extra_label.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [key, val] : labels) {
      CHECK(ValidLabelName(key));
      absl::StrAppend(&text_, first ? "" : ",", key, "=\"",
                      EscapeLabelValue(val), "\"");
      first = false;
    }
    if (!extra_label.empty()) {
      absl::StrAppend(&text_, first ? "" : ",", extra_label, "=\"", extra_value,
                      "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

void PrometheusText::Sample(const Labels& labels, double value) {
  CHECK(!family_.empty() && type_ != Type::kHistogram);
  Line("", labels, "", "", value);
}

void PrometheusText::Histogram(const Labels& labels,
                               const std::vector<double>& bounds,
                               const std::vector<uint64_t>& counts,
                               double sum) {
  CHECK(type_ == Type::kHistogram && counts.size() == bounds.size() + 1);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    Line("_bucket", labels, "le", FormatValue(bounds[i]),
         static_cast<double>(cumulative));
  }
  cumulative += counts.back();
  Line("_bucket", labels, "le", "+Inf", static_cast<double>(cumulative));
  Line("_sum", labels, "", "", sum);
  Line("_count", labels, "", "", static_cast<double>(cumulative));
}

}  // namespace pitstop
