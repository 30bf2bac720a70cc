#include "supervisor/core/canary_plan.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace pitstop {
namespace {

std::string Rate(double fraction) {
  return absl::StrFormat("%.2f%%", fraction * 100);
}

std::string Millis(double seconds) {
  return absl::StrFormat("%.1fms", seconds * 1000);
}

// A resource named to the canary: "type/id", both parts non-empty.
bool LooksLikeResource(absl::string_view r) {
  const size_t slash = r.find('/');
  return slash != absl::string_view::npos && slash > 0 &&
         slash + 1 < r.size() && r.size() <= 256;
}

}  // namespace

std::string Percent(double percent) {
  std::string s = absl::StrFormat("%.2f", percent);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "%";
}

std::string DescribeSteps(const std::vector<double>& steps) {
  return absl::StrJoin(
      steps, ",", [](std::string* out, double p) { out->append(Percent(p)); });
}

absl::Status CheckCanaryPlan(const CanaryPlan& plan) {
  if (plan.steps.empty() || plan.steps.size() > kMaxCanarySteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("a canary needs 1 to ", kMaxCanarySteps, " steps (got ",
                     plan.steps.size(), "), e.g. --steps 10%,50%,100%"));
  }
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const double p = plan.steps[i];
    if (!std::isfinite(p) || p < 0 || p > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("canary step ", i + 1, " is ", p,
                       "%: a share is between 0% and 100%"));
    }
    if (i > 0 && p <= plan.steps[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "canary step ", i + 1, " (", Percent(p), ") does not go above step ",
          i, " (", Percent(plan.steps[i - 1]),
          "): steps ascend, e.g. 10%,50%,100%"));
    }
  }
  if (plan.steps.back() != 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("the last canary step is ", Percent(plan.steps.back()),
                     ": it must be 100% (every resource on the new version), "
                     "e.g. --steps ",
                     DescribeSteps(plan.steps), ",100%"));
  }
  if (plan.steps.size() == 1 && plan.named.empty()) {
    return absl::InvalidArgumentError(
        "a canary of one step, 100%, is a plain upgrade: give a first share "
        "(--canary 10%) or the resources to try first (--canary-resources)");
  }
  if (plan.named.size() > kMaxCanaryNamed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a canary names at most ", kMaxCanaryNamed, " resources (got ",
        plan.named.size(), "); give a share instead (--canary 10%)"));
  }
  for (const std::string& r : plan.named) {
    if (!LooksLikeResource(r)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "canary resource \"", r.substr(0, 64),
          "\" is not TYPE/ID (at most 256 characters), e.g. volume/vol-1"));
    }
  }
  if (plan.interval < kMinCanaryInterval ||
      plan.interval > kMaxCanaryInterval) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a canary step's interval is ", absl::FormatDuration(plan.interval),
        ": it must be between ", absl::FormatDuration(kMinCanaryInterval),
        " and ", absl::FormatDuration(kMaxCanaryInterval)));
  }
  const CanaryGate& g = plan.gate;
  if (!std::isfinite(g.max_error_rate_increase) ||
      g.max_error_rate_increase < 0 || g.max_error_rate_increase > 1) {
    return absl::InvalidArgumentError(
        "the gate's errors figure is between 0% and 100% (points above the "
        "old version's error rate), e.g. errors=1%");
  }
  if (!std::isfinite(g.max_p99_ratio) || g.max_p99_ratio < 1) {
    return absl::InvalidArgumentError(
        "the gate's p99 figure is a ratio of at least 1 (the new version's "
        "p99 latency over the old one's), e.g. p99=2");
  }
  return absl::OkStatus();
}

uint32_t CohortPoint(absl::string_view driver, absl::string_view resource) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(driver);
  mix(absl::string_view("\0", 1));
  mix(resource);
  return static_cast<uint32_t>(h % 10000);
}

bool InCanary(const CanaryPlan& plan, double percent, absl::string_view driver,
              absl::string_view resource) {
  if (resource.empty()) return false;
  if (percent >= 100) return true;
  if (!plan.named.empty() && plan.named.count(std::string(resource)) > 0) {
    return true;
  }
  return CohortPoint(driver, resource) < percent * 100;
}

GateVerdict JudgeGate(const CanaryGate& gate, const CallFigures& old_version,
                      const CallFigures& new_version) {
  GateVerdict v;
  const std::string& nv = new_version.version;
  const std::string& ov = old_version.version;
  if (new_version.calls < gate.min_calls) {
    v.text = absl::StrCat(nv, " had ", new_version.calls,
                          " calls in the interval; the gate judges from ",
                          gate.min_calls);
    return v;
  }
  const double increase = new_version.error_rate - old_version.error_rate;
  if (increase > gate.max_error_rate_increase) {
    v.outcome = GateVerdict::Outcome::kFail;
    v.figure = "error rate";
    v.text = absl::StrCat(
        "error rate ", nv, " ", Rate(new_version.error_rate), " (",
        new_version.driver_errors, " of ", new_version.calls,
        " calls) against ", ov, " ", Rate(old_version.error_rate), " (",
        old_version.driver_errors, " of ", old_version.calls, "): more than ",
        Percent(gate.max_error_rate_increase * 100), " above");
    return v;
  }
  const double floor = absl::ToDoubleSeconds(gate.p99_floor);
  if (old_version.calls >= gate.min_calls && new_version.p99_seconds > floor &&
      new_version.p99_seconds >
          gate.max_p99_ratio * std::max(old_version.p99_seconds, 1e-9)) {
    v.outcome = GateVerdict::Outcome::kFail;
    v.figure = "p99 latency";
    v.text = absl::StrCat("p99 latency ", nv, " ",
                          Millis(new_version.p99_seconds), " against ", ov, " ",
                          Millis(old_version.p99_seconds), ": more than ",
                          absl::StrFormat("%g", gate.max_p99_ratio), " times");
    return v;
  }
  v.outcome = GateVerdict::Outcome::kPass;
  v.text = absl::StrCat("error rate ", nv, " ", Rate(new_version.error_rate),
                        " / ", ov, " ", Rate(old_version.error_rate), ", p99 ",
                        Millis(new_version.p99_seconds), " / ",
                        Millis(old_version.p99_seconds), " over ",
                        new_version.calls, " / ", old_version.calls, " calls");
  return v;
}

}  // namespace pitstop
