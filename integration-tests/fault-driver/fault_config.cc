#include "fault_config.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace pitstop::fault {
namespace {

bool ParseMs(absl::string_view text, int64_t* out) {
  return absl::SimpleAtoi(text, out) && *out >= 0;
}

}  // namespace

absl::StatusOr<FaultConfig> ParseFaultConfig(absl::string_view text,
                                             absl::string_view source) {
  FaultConfig config;
  bool have_mode = false;
  bool have_after = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_number, ": ", what));
    };
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "after_ms") {
      if (!ParseMs(kv.second, &config.ms)) {
        return error(
            absl::StrCat("after_ms must be a whole number of "
                         "milliseconds (got '",
                         kv.second, "')"));
      }
      have_after = true;
      continue;
    }
    if (kv.first != "mode") {
      return error(absl::StrCat("unknown key '", kv.first,
                                "'; expected mode or after_ms"));
    }
    const absl::string_view mode = kv.second;
    config.mode_text = std::string(mode);
    have_mode = true;
    absl::string_view value = mode;
    if (mode == "normal") {
      config.mode = FaultMode::kNormal;
    } else if (mode == "crash_on_start") {
      config.mode = FaultMode::kCrashOnStart;
    } else if (mode == "never_ready") {
      config.mode = FaultMode::kNeverReady;
    } else if (mode == "hang") {
      config.mode = FaultMode::kHang;
    } else if (mode == "bad_exit") {
      config.mode = FaultMode::kBadExit;
    } else if (mode == "sloppy") {
      config.mode = FaultMode::kSloppy;
    } else if (absl::ConsumePrefix(&value, "crash_after_ms=")) {
      config.mode = FaultMode::kCrashAfter;
      if (!ParseMs(value, &config.ms)) {
        return error(
            absl::StrCat("crash_after_ms needs a whole number of "
                         "milliseconds (got '",
                         value, "')"));
      }
    } else if (absl::ConsumePrefix(&value, "slow_start_ms=")) {
      config.mode = FaultMode::kSlowStart;
      if (!ParseMs(value, &config.ms)) {
        return error(
            absl::StrCat("slow_start_ms needs a whole number of "
                         "milliseconds (got '",
                         value, "')"));
      }
    } else if (absl::ConsumePrefix(&value, "exit_code=")) {
      config.mode = FaultMode::kExitCode;
      if (!absl::SimpleAtoi(value, &config.exit_code) || config.exit_code < 0 ||
          config.exit_code > 255) {
        return error(
            absl::StrCat("exit_code needs a number from 0 to 255 "
                         "(got '",
                         value, "')"));
      }
    } else {
      return error(absl::StrCat(
          "unknown mode '", mode,
          "'; expected normal, crash_after_ms=<n>, crash_on_start, "
          "never_ready, slow_start_ms=<n>, hang or exit_code=<n>"));
    }
  }
  if (!have_mode) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": no mode=... line"));
  }
  if (have_after && config.mode != FaultMode::kExitCode) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": after_ms only goes with mode=exit_code=<n>"));
  }
  if (!have_after && config.mode == FaultMode::kExitCode) config.ms = 0;
  return config;
}

}  // namespace pitstop::fault
