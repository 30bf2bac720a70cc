#ifndef PITSTOP_SUPERVISOR_CORE_UPGRADE_RUN_H_
#define PITSTOP_SUPERVISOR_CORE_UPGRADE_RUN_H_

// An upgrade of one driver in place, and the steps that move it: begin, the
// cut-over to the new version, the probation, a rollback, the commit.
//
//   begin -> the new version starts beside the serving one (a successor)
//         -> cut-over: new calls go to it, resource by resource; the old
//            instance drains and stands by
//         -> probation passes: committed, the old instance stops
//         -> or the new version crashes, fails its probes, or an operator
//            rolls back: the old instance serves again
//
// Not thread-safe: UpgradeSteps runs under the Supervisor's lock, from the
// DriverMachine and the Supervisor's API. No I/O.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/core/call_stats.h"
#include "supervisor/core/canary_plan.h"
#include "supervisor/core/driver_package.h"

namespace pitstop {

class MachineContext;
struct DriverRecord;
struct Effects;

// How an upgrade proceeds; zero durations take the driver's defaults.
struct UpgradeOptions {
  // How long the old instance may finish its calls after the cut-over;
  // calls still running then are cancelled. Default: timeouts.drain.
  absl::Duration drain_timeout;
  // How long the new version must keep serving (no crash, no failed probes)
  // before the upgrade commits and the old instance stops.
  absl::Duration probation;
  // A canary upgrade: the new version serves a share of the resources
  // first, step by step (canary_plan.h). Unset: every resource moves at
  // the cut-over.
  std::optional<CanaryPlan> canary;
};

// A canary in progress, before its cut-over (CanarySteps moves it).
struct CanaryRun {
  CanaryPlan plan;
  size_t step = 0;  // index in plan.steps
  // The new version is READY and serves its share beside the old one.
  bool serving = false;
  bool paused = false;
  // Taken back after a restart of pitstopd, at its saved step: its
  // resources wait for the new version to answer again (Serve ends it).
  bool resuming = false;
  absl::Time step_started;
  // When the gate is judged next (InfiniteFuture until serving, or paused).
  absl::Time gate_due = absl::InfiniteFuture();
  // Both versions' call totals when the interval being judged began.
  CallTotals old_base, new_base;
  // The gate's figures and verdict at its last judgement.
  CallFigures old_figures, new_figures;
  std::string verdict;
  // Resources moved to the new version by the last step that still had
  // calls on the old one when it began: their calls wait until those end.
  std::vector<std::string> moving;

  double percent() const { return plan.steps[step]; }
};

struct UpgradeRun {
  std::shared_ptr<const DriverPackage> from;
  std::shared_ptr<const DriverPackage> to;
  UpgradeOptions options;  // durations resolved
  // Set by an operator's rollback during the upgrade: why to give up.
  std::string abort_cause;
  bool cut_over = false;
  absl::Time started;
  absl::Time probation_until = absl::InfiniteFuture();
  // Resources busy on the old instance at the cut-over, reported as each
  // drains.
  std::vector<std::string> draining;
  std::optional<CanaryRun> canary;
};

// "1.0.0 -> 2.0.0: on probation until ...", for the API.
std::string DescribeUpgrade(const UpgradeRun& u);

// "the upgrade to 2.0.0 was interrupted by a restart of pitstopd before it
// committed; 1.0.0 stays active", and " (its canary cannot go on: why)"
// when `why` is set.
std::string InterruptedByRestart(absl::string_view to, absl::string_view active,
                                 absl::string_view why = "");

class UpgradeSteps {
 public:
  explicit UpgradeSteps(MachineContext& context) : context_(context) {}

  // Begins the upgrade of `name` to the installed `version` (see
  // Supervisor::Upgrade for the contract); returns the sequence number of
  // its "upgrade-started" event.
  absl::StatusOr<uint64_t> Begin(const std::string& name, DriverRecord& r,
                                 absl::string_view version,
                                 UpgradeOptions options, absl::Time now);
  // An operator's rollback during the upgrade: gives it up at the next
  // reconciliation. Returns the sequence number of its event.
  uint64_t RequestAbort(const std::string& name, DriverRecord& r);

  // Probation, rollback and commit, at `now`.
  void Reconcile(const std::string& name, DriverRecord& r, absl::Time now,
                 Effects& effects);

  // The successor became ready: it takes new calls, the old instance
  // stands by. Call with the slots already swapped.
  void CutOver(const std::string& name, DriverRecord& r, absl::Time now);
  // The old instance died before the cut-over; the new version (already in
  // the serving slot) takes over on probation.
  void OldDied(const std::string& name, DriverRecord& r, absl::Time now,
               const std::string& how);
  // The new version ended before it became ready.
  void SuccessorFailed(const std::string& name, DriverRecord& r,
                       const std::string& how, pid_t pid);
  // Given up before the new version was started; true if so.
  bool AbandonIfAborted(const std::string& name, DriverRecord& r);
  // The driver is not READY any more: switch versions by a plain restart.
  void SwitchByRestart(const std::string& name, DriverRecord& r);

 private:
  // Gives the work back to the old instance; `cause` says why.
  void RollBack(const std::string& name, DriverRecord& r, absl::Time now,
                const std::string& cause, Effects& effects);
  // Why the running upgrade must be given up; "" if it need not.
  std::string FailureCause(const DriverRecord& r) const;
  void Commit(const std::string& name, DriverRecord& r, Effects& effects);
  void End(const std::string& name, DriverRecord& r);

  MachineContext& context_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_UPGRADE_RUN_H_
