#include "supervisor/metrics/prometheus_text.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/match.h"
#include "supervisor/metrics/process_metrics.h"

namespace pitstop {
namespace {

using Type = PrometheusText::Type;

TEST_CASE("a family is its HELP and TYPE lines, then its samples",
          "[metrics]") {
  PrometheusText out;
  out.Family("pitstop_driver_restarts_total", Type::kCounter,
             "Restarts of a driver's process.\nSecond line \\ here");
  out.Sample({{"driver", "flashpool"}}, 3);
  out.Sample({{"driver", "nvpnet"}, {"version", "1.0.0"}}, 0);
  CHECK(out.text() ==
        "# HELP pitstop_driver_restarts_total Restarts of a driver's "
        "process.\\nSecond line \\\\ here\n"
        "# TYPE pitstop_driver_restarts_total counter\n"
        "pitstop_driver_restarts_total{driver=\"flashpool\"} 3\n"
        "pitstop_driver_restarts_total{driver=\"nvpnet\",version=\"1.0.0\"} "
        "0\n");
}

TEST_CASE("label values escape backslash, quote and newline", "[metrics]") {
  CHECK(EscapeLabelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  PrometheusText out;
  out.Family("x", Type::kGauge, "x");
  out.Sample({{"reason", "said \"no\"\n"}}, 1);
  CHECK(out.text().find("x{reason=\"said \\\"no\\\"\\n\"} 1\n") !=
        std::string::npos);
}

TEST_CASE("names and label names follow the format's rules", "[metrics]") {
  CHECK(ValidMetricName("pitstop_calls_total"));
  CHECK(ValidMetricName("a:b_c"));
  CHECK_FALSE(ValidMetricName("9lives"));
  CHECK_FALSE(ValidMetricName("calls-total"));
  CHECK_FALSE(ValidMetricName(""));
  CHECK(ValidLabelName("driver"));
  CHECK_FALSE(ValidLabelName("__name"));
  CHECK_FALSE(ValidLabelName("a:b"));
  CHECK_FALSE(ValidLabelName("0x"));
}

TEST_CASE("values: integers whole, floats exact, and the special values",
          "[metrics]") {
  CHECK(FormatValue(3) == "3");
  CHECK(FormatValue(-2) == "-2");
  CHECK(FormatValue(0.25) == "0.25");
  CHECK(std::stod(FormatValue(0.1)) == 0.1);
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatValue(std::nan("")) == "NaN");
}

TEST_CASE("a histogram is cumulative buckets up to +Inf, then sum and count",
          "[metrics]") {
  PrometheusText out;
  out.Family("pitstop_call_duration_seconds", Type::kHistogram, "Latency.");
  out.Histogram({{"driver", "d"}}, {0.001, 0.01}, {2, 3, 1}, 0.05);
  CHECK(out.text() ==
        "# HELP pitstop_call_duration_seconds Latency.\n"
        "# TYPE pitstop_call_duration_seconds histogram\n"
        "pitstop_call_duration_seconds_bucket{driver=\"d\",le=\"0.001\"} 2\n"
        "pitstop_call_duration_seconds_bucket{driver=\"d\",le=\"0.01\"} 5\n"
        "pitstop_call_duration_seconds_bucket{driver=\"d\",le=\"+Inf\"} 6\n"
        "pitstop_call_duration_seconds_sum{driver=\"d\"} 0.050000000000000003\n"
        "pitstop_call_duration_seconds_count{driver=\"d\"} 6\n");
}

TEST_CASE("the process family describes this process", "[metrics]") {
  PrometheusText out;
  AppendProcessMetrics(out);
  const std::string& t = out.text();
  for (const char* name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_virtual_memory_bytes ", "process_open_fds ",
        "process_max_fds ", "process_start_time_seconds "}) {
    INFO(name << " in\n" << t);
    const size_t at = t.find(std::string("\n") + name);
    REQUIRE(at != std::string::npos);
    const double value = std::stod(t.substr(at + 1 + std::strlen(name)));
    // A test process may not have used a whole clock tick of CPU yet.
    CHECK(value >= (absl::StartsWith(name, "process_cpu") ? 0 : 1));
  }
}

}  // namespace
}  // namespace pitstop
