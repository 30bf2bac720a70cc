#include "supervisor/config/daemon_flags.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

std::string Absolute(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(dir, ec);
  return (ec ? std::filesystem::path(dir) : path).lexically_normal().string();
}

absl::Status FlagError(const char* flag, const absl::Status& status) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": ", status.message()));
}

}  // namespace

absl::Status ApplyDaemonFlags(const DaemonFlags& flags, DaemonConfig& config) {
  DaemonConfig out = config;
  if (!flags.listen.empty()) {
    if (absl::Status s = CheckListenAddress(flags.listen); !s.ok()) {
      return FlagError("listen", s);
    }
    out.listen = flags.listen;
  }
  if (!flags.state_dir.empty()) out.state_dir = Absolute(flags.state_dir);
  if (!flags.drivers_dir.empty()) out.drivers_dir = Absolute(flags.drivers_dir);
  if (!flags.trust_dir.empty()) out.trust_dir = Absolute(flags.trust_dir);
  if (flags.require_signed) out.require_signed = true;
  if (flags.leave_drivers_on_exit) out.leave_drivers_on_exit = true;
  if (!flags.log_level.empty()) {
    auto level = ParseLogLevel(flags.log_level);
    if (!level.ok()) return FlagError("log-level", level.status());
    out.log_level = *level;
  }
  if (!flags.log_format.empty()) {
    auto format = ParseLogFormat(flags.log_format);
    if (!format.ok()) return FlagError("log-format", format.status());
    out.log_format = *format;
  }
  if (!flags.sandbox.empty()) {
    if (absl::Status s = CheckSandboxMode(flags.sandbox); !s.ok()) {
      return FlagError("sandbox", s);
    }
    out.sandbox = flags.sandbox;
  }
  config = std::move(out);
  return absl::OkStatus();
}

}  // namespace pitstop
