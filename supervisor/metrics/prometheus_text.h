#ifndef PITSTOP_SUPERVISOR_METRICS_PROMETHEUS_TEXT_H_
#define PITSTOP_SUPERVISOR_METRICS_PROMETHEUS_TEXT_H_

// The Prometheus text exposition format, version 0.0.4: families with
// `# HELP` and `# TYPE`, samples with escaped label values, histograms as
// cumulative `_bucket{le=...}`, `_sum` and `_count`. No C++ client library
// is packaged for Debian 12; this is the small encoder docs/observability.md
// describes. A name or label that breaks the format's rules is a bug
// (CHECK): every name here is written in the code.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace pitstop {

using Labels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts the family `name` (each family once, its samples after it).
  void Family(absl::string_view name, Type type, absl::string_view help);
  // A sample of the current family (counter, gauge): `name` is the
  // family's own.
  void Sample(const Labels& labels, double value);
  // A histogram of the current family: `bounds` ascending (the +Inf bucket
  // is added), `counts` per bucket, not cumulative (one more than bounds:
  // the last is above every bound).
  void Histogram(const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<uint64_t>& counts, double sum);

  const std::string& text() const { return text_; }

 private:
  void Line(absl::string_view suffix, const Labels& labels,
            absl::string_view extra_label, absl::string_view extra_value,
            double value);

  std::string text_;
  std::string family_;
  Type type_ = Type::kGauge;
};

// A name matches [a-zA-Z_:][a-zA-Z0-9_:]*; a label name
// [a-zA-Z_][a-zA-Z0-9_]* and does not start with "__".
bool ValidMetricName(absl::string_view name);
bool ValidLabelName(absl::string_view name);
// `\` `"` and newline escaped, as label values must be.
std::string EscapeLabelValue(absl::string_view value);
// A sample value: integers without a fraction, +Inf, -Inf, NaN.
std::string FormatValue(double value);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_METRICS_PROMETHEUS_TEXT_H_
