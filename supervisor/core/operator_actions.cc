#include "supervisor/core/operator_actions.h"

#include "absl/strings/str_cat.h"

namespace pitstop {

std::string Requested(absl::string_view what, absl::string_view by) {
  return by.empty() ? absl::StrCat(what, " requested")
                    : absl::StrCat(what, " requested by ", by);
}

absl::Status StartDriver(MachineContext& context, const std::string& name,
                         DriverRecord& r, absl::Time now,
                         absl::string_view by) {
  context.Note(name, r, "operator", Requested("start", by));
  r.enabled = true;
  r.persist_pending = true;
  if (!r.unresolved.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " cannot start: ", r.unresolved));
  }
  if (r.want_running && r.state != DriverState::kFailed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " is already running (", DriverStateName(r.state),
        "); use `pitstop restart ", name, "` to restart it"));
  }
  r.want_running = true;
  r.policy.Reset();
  if (r.state == DriverState::kFailed || r.state == DriverState::kBackoff) {
    context.SetState(name, r, DriverState::kStopped, now);
  }
  return absl::OkStatus();
}

absl::Status StopDriver(MachineContext& context, const std::string& name,
                        DriverRecord& r, absl::Time now, absl::string_view by) {
  context.Note(name, r, "operator", Requested("stop", by));
  r.enabled = false;
  r.persist_pending = true;
  r.want_running = false;
  r.restart_requested = false;
  if (!r.instance && r.state != DriverState::kStopped) {
    context.SetState(name, r, DriverState::kStopped, now);
  }
  return absl::OkStatus();
}

absl::Status RestartDriver(MachineContext& context, const std::string& name,
                           DriverRecord& r, absl::Time now, bool force,
                           absl::string_view by) {
  if (r.upgrade) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " is being upgraded to ",
        r.upgrade->to->manifest.version.ToString(),
        "; wait for the upgrade to commit or roll back, or abandon it with "
        "`pitstop rollback ",
        name, "`"));
  }
  context.Note(name, r, "operator", Requested("restart", by));
  r.enabled = true;
  r.persist_pending = true;
  if (!r.unresolved.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("driver ", name, " cannot start: ", r.unresolved));
  }
  r.want_running = true;
  r.restarts = 0;
  r.policy.Reset();
  if (!force && r.instance && r.state == DriverState::kReady) {
    r.graceful_requested = true;
  } else if (r.instance) {
    r.restart_requested = true;
  } else if (r.state != DriverState::kStopped) {
    context.SetState(name, r, DriverState::kStopped, now);
  }
  return absl::OkStatus();
}

absl::Status ResetDriver(MachineContext& context, const std::string& name,
                         DriverRecord& r, absl::Time now,
                         absl::string_view by) {
  if (r.state != DriverState::kFailed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", name, " is ", DriverStateName(r.state),
        ", not FAILED: there is nothing to reset (use `pitstop restart ", name,
        "` to restart it)"));
  }
  context.Note(name, r, "operator", Requested("reset", by));
  r.enabled = true;
  r.persist_pending = true;
  r.want_running = true;
  r.restarts = 0;
  r.policy.Reset();
  r.message.clear();
  context.SetState(name, r, DriverState::kStopped, now);
  return absl::OkStatus();
}

}  // namespace pitstop
