#include "supervisor/cli/canary_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

absl::Status Bad(absl::string_view flag, absl::string_view value,
                 absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": '", value.substr(0, 64), "' ", what));
}

// "10%" or "10".
absl::StatusOr<double> ParsePercent(absl::string_view flag,
                                    absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  absl::ConsumeSuffix(&t, "%");
  double p = 0;
  if (!absl::SimpleAtod(t, &p) || !(p >= 0 && p <= 100)) {
    return Bad(flag, text, "is not a share between 0% and 100%, e.g. 10%");
  }
  return p;
}

absl::Status ParseGate(const std::string& text, sv1::CanaryGate* gate) {
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    const absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    if (key == "errors") {
      absl::ConsumeSuffix(&value, "%");
      double points = 0;
      if (!absl::SimpleAtod(value, &points) || points < 0 || points > 100) {
        return Bad("--gate", part, "needs errors=POINTS%, e.g. errors=1%");
      }
      gate->set_max_error_rate_increase_percent(points);
    } else if (key == "p99") {
      absl::ConsumeSuffix(&value, "x");
      double ratio = 0;
      if (!absl::SimpleAtod(value, &ratio) || ratio < 1) {
        return Bad("--gate", part, "needs p99=RATIO of at least 1, e.g. p99=2");
      }
      gate->set_max_p99_ratio(ratio);
    } else if (key == "min-calls") {
      uint32_t n = 0;
      if (!absl::SimpleAtoi(value, &n)) {
        return Bad("--gate", part, "needs min-calls=N, e.g. min-calls=20");
      }
      gate->set_min_calls(n);
    } else {
      return Bad("--gate", part,
                 "is not a gate figure: errors=1%, p99=2, min-calls=20");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<sv1::CanaryPlan> CanaryPlanFromFlags(const CanaryFlags& f) {
  sv1::CanaryPlan plan;
  if (!f.canary.empty() && !f.steps.empty()) {
    return absl::InvalidArgumentError(
        "give --canary 10% (then 100%) or --steps 10%,50%,100%, not both");
  }
  if (!f.steps.empty()) {
    for (absl::string_view s :
         absl::StrSplit(f.steps, ',', absl::SkipEmpty())) {
      absl::StatusOr<double> p = ParsePercent("--steps", s);
      if (!p.ok()) return p.status();
      plan.add_steps_percent(*p);
    }
  } else {
    double first = 0;
    if (!f.canary.empty()) {
      absl::StatusOr<double> p = ParsePercent("--canary", f.canary);
      if (!p.ok()) return p.status();
      first = *p;
    } else if (f.resources.empty()) {
      return absl::InvalidArgumentError(
          "a canary needs a share (--canary 10% or --steps 10%,50%,100%) or "
          "the resources to try first (--canary-resources volume/vol-1,...)");
    }
    plan.add_steps_percent(first);
    plan.add_steps_percent(100);
  }
  for (absl::string_view r :
       absl::StrSplit(f.resources, ',', absl::SkipEmpty())) {
    plan.add_resources(std::string(absl::StripAsciiWhitespace(r)));
  }
  if (!f.interval.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(f.interval, &d) || d <= absl::ZeroDuration()) {
      return Bad("--interval", f.interval,
                 "is not a duration; write e.g. 2m, 30s or 1h");
    }
    plan.set_interval_ms(static_cast<uint32_t>(
        std::min<int64_t>(absl::ToInt64Milliseconds(d), UINT32_MAX)));
  }
  if (absl::Status s = ParseGate(f.gate, plan.mutable_gate()); !s.ok()) {
    return s;
  }
  return plan;
}

}  // namespace pitstop
