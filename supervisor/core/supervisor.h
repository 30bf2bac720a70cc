#ifndef PITSTOP_SUPERVISOR_CORE_SUPERVISOR_H_
#define PITSTOP_SUPERVISOR_CORE_SUPERVISOR_H_

// The Supervisor runs every installed driver through one state machine
// (driver_machine.h draws it). It is the coordinator: it holds the lock, the
// driver table and the control loop, and offers the public API; the
// DriverMachine decides each driver's next step, UpgradeSteps move upgrades,
// RouteWaiters hold parked calls.
//
// The control loop reconciles, on its own thread (Run) or one pass at a time
// (Step, for tests with a fake clock), only the drivers that something
// touched (an exit, a probe answer, an operator action, a drained resource,
// a change of a driver they require) or whose own timer fell due. Process
// exits and probe answers arrive as events from the launcher's and the
// endpoints' threads.
//
// Routing: AcquireRoute hands out the READY instance of a driver, or parks
// the request until one is READY or its deadline passes, without blocking
// the caller's thread.
//
// Thread-safe. Never calls the launcher, an endpoint, the file system, the
// store or a route callback while holding its lock.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/clock.h"
#include "supervisor/core/desired_state.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/driver_machine.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/driver_state.h"
#include "supervisor/core/driver_status.h"
#include "supervisor/core/driver_table.h"
#include "supervisor/core/effect_runner.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/event_log.h"
#include "supervisor/core/machine_context.h"
#include "supervisor/core/route_source.h"
#include "supervisor/core/supervisor_options.h"
#include "supervisor/core/upgrade_run.h"
#include "supervisor/sandbox/instance_files.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

class Supervisor final : public RouteSource, private InstanceEvents {
 public:
  using OrderEntry = pitstop::OrderEntry;

  Supervisor(ProcessLauncher& launcher, DriverEndpointFactory& endpoints,
             InstanceFiles& files, Clock& clock, EventLog& events,
             SupervisorOptions options);
  // Stops the control loop. Drivers still running are left to the launcher,
  // which kills them; call StopAll first for a graceful stop.
  ~Supervisor();

  // Registers an installed driver version. The first version of a name is
  // its active one, stopped; a further version is installed beside it
  // (inactive: `Upgrade` activates it). ALREADY_EXISTS for a known name and
  // version.
  absl::Status AddDriver(DriverPackage package) ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets an installed version that is neither active nor running and
  // returns it, so the caller can delete its files. FAILED_PRECONDITION for
  // the active version (remove the whole driver instead).
  absl::StatusOr<std::shared_ptr<const DriverPackage>> RemoveVersion(
      absl::string_view name, absl::string_view version)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stops `name` (gracefully, bounded by its stop timeout) and forgets it;
  // returns every installed version so the caller can delete their files.
  // Blocks. FAILED_PRECONDITION when another installed driver requires it.
  absl::StatusOr<std::vector<std::shared_ptr<const DriverPackage>>>
  RemoveDriver(absl::string_view name) ABSL_LOCKS_EXCLUDED(mu_);

  // Where operator intent and FAILED marks are saved (not owned; may be
  // null). Call before Run.
  void SetStore(DesiredStateStore* store);
  // Applies what was saved before a restart of the daemon: stopped drivers
  // stay stopped, FAILED ones stay FAILED, the saved active version is
  // active again (the highest installed one when none was saved or it is
  // gone), and an upgrade the restart interrupted is reported as not
  // committed. Unknown names are ignored. Call after AddDriver and before
  // StartAll.
  void RestoreDesiredState(
      const std::map<std::string, DesiredDriverState>& saved)
      ABSL_LOCKS_EXCLUDED(mu_);

  // An instance an earlier daemon left running, taken back.
  struct Adopted {
    std::string driver;
    uint64_t instance_id = 0;
    pid_t pid = 0;
  };
  // Takes back the instances an earlier daemon left running
  // (ProcessLauncher::FindSurvivors), each into the place it had:
  //   - one of a driver's active version, wanted running and not FAILED,
  //     serves again with its pid (STARTING until its probe answers; a
  //     driver that exited meanwhile is reported and restarted by its
  //     policy);
  //   - one of the new version of a canary saved before the restart, once
  //     the old version's was taken back: the canary goes on at its saved
  //     step (CanarySteps::Resume);
  //   - one of a version that pins keep (`pitstop pin`), beside the active
  //     one: it stands by for its pinned resources again.
  // Any other (an unknown driver, another version such as the new one of
  // an interrupted plain upgrade, a second instance, a driver an operator
  // stopped) is stopped. A saved canary whose old version's process did not
  // survive is reported as rolled back, the old version active alone. Each
  // is an event. Returns the adopted ones. Call after RestoreDesiredState,
  // before Run and StartAll.
  std::vector<Adopted> AdoptSurvivors() ABSL_LOCKS_EXCLUDED(mu_);

  // Starts the control loop on its own thread.
  void Run();

  // One reconciliation pass at the clock's current time (tests).
  void Step() ABSL_LOCKS_EXCLUDED(mu_);

  // Names in start order (unresolvable drivers last, by name).
  std::vector<std::string> StartOrder() ABSL_LOCKS_EXCLUDED(mu_);
  // The start order with the reason for each place.
  std::vector<OrderEntry> StartOrderDetails() ABSL_LOCKS_EXCLUDED(mu_);

  // Starts every enabled, not FAILED driver level by level (network,
  // storage, hypervisor); each level waits until its drivers are READY or
  // have failed. Blocks.
  void StartAll() ABSL_LOCKS_EXCLUDED(mu_);

  // Stops every driver in exact reverse start order, one at a time, each
  // bounded by its stop timeout. Returns when no driver process remains.
  void StopAll() ABSL_LOCKS_EXCLUDED(mu_);

  // Stops the control loop and lets go of every driver without stopping
  // it, for a hand-over to the next daemon (docs/lifecycle.md): nothing is
  // reconciled, restarted or saved from now on, and calls still parked are
  // not answered (the router drained them first). The launcher then
  // releases the processes. Only the destructor may follow.
  void Halt() ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<DriverStatus> List() ABSL_LOCKS_EXCLUDED(mu_);
  // NOT_FOUND naming the driver.
  absl::StatusOr<DriverStatus> Get(absl::string_view name)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Operator actions. Start: FAILED_PRECONDITION if already running. Start and
  // Restart reset the restart counters and skip any backoff. Each saves the
  // `by` names who asked in the event ("stop requested by uid=0 ...").
  // Each saves the intent it records (enabled or not, the FAILED mark
  // cleared) before it
  // acts: UNAVAILABLE, and nothing changed, when it cannot be saved (a full
  // state filesystem), so intent is never lost across a restart.
  absl::Status Start(absl::string_view name, absl::string_view by = "")
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Stop(absl::string_view name, absl::string_view by = "")
      ABSL_LOCKS_EXCLUDED(mu_);
  //
  // Restart without `force` of a READY driver is graceful: a new instance is
  // started beside the serving one; once it is READY it takes all new calls,
  // and the old one finishes the calls it has (up to timeouts.drain) before
  // it is stopped. No call fails. If the new instance fails to start, the
  // old one keeps serving. With `force`, or when the driver is not READY,
  // the process is stopped, then started.
  absl::Status Restart(absl::string_view name, bool force = false,
                       absl::string_view by = "") ABSL_LOCKS_EXCLUDED(mu_);
  // Upgrades `name` in place to an installed `version`. A READY driver gets
  // a new instance of that version beside the serving one; once it is READY
  // it takes the work resource by resource (a resource still busy on the
  // old version waits for its calls there to end), the old instance drains,
  // and after the probation the upgrade commits and the old one stops. If
  // the new version crashes or fails its probes during the probation, the
  // old one takes the work again (rolled back). A driver that is not READY
  // just switches version (and restarts if it was trying to run). Returns
  // once the upgrade has begun, with the sequence number of its
  // "upgrade-started" event; later events report every step.
  // NOT_FOUND for a version not installed, FAILED_PRECONDITION when an
  // upgrade is already in progress (at most two versions run at once), for
  // the active version, or when the version's requirements, or drivers that
  // require this one, would not be satisfied.
  absl::StatusOr<uint64_t> Upgrade(absl::string_view name,
                                   absl::string_view version,
                                   UpgradeOptions options = {})
      ABSL_LOCKS_EXCLUDED(mu_);
  // Upgrades back to the version active before the last committed upgrade;
  // during an upgrade's probation, abandons it at once (the old instance
  // serves again). FAILED_PRECONDITION when there is nothing to roll back.
  // Returns the sequence number of the event that starts the rollback.
  absl::StatusOr<uint64_t> Rollback(absl::string_view name,
                                    UpgradeOptions options = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // An operator's hand on a canary upgrade in progress (canary_steps.h):
  // promote (100% now: the cut-over, then the probation), pause (no next
  // step; the gate still rolls back), resume. FAILED_PRECONDITION when
  // none runs. Returns the sequence number of its event.
  enum class CanaryAction { kPromote, kPause, kResume };
  absl::StatusOr<uint64_t> ControlCanary(absl::string_view name,
                                         CanaryAction action)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Keeps `resource` ("type/id") of `name` on the installed `version`
  // through upgrades (`pitstop pin`; resource_target.h), saved first:
  // INVALID_ARGUMENT for a malformed resource, NOT_FOUND for a version not
  // installed, RESOURCE_EXHAUSTED past kMaxPins, UNAVAILABLE when it cannot
  // be saved (nothing changed). Returns the sequence number of its event.
  static constexpr size_t kMaxPins = 1000;
  absl::StatusOr<uint64_t> Pin(absl::string_view name,
                               absl::string_view resource,
                               absl::string_view version)
      ABSL_LOCKS_EXCLUDED(intent_mu_, mu_);
  // Lets it follow the active version again; a replaced version kept
  // running only for pins then drains and stops. NOT_FOUND if not pinned.
  absl::StatusOr<uint64_t> Unpin(absl::string_view name,
                                 absl::string_view resource)
      ABSL_LOCKS_EXCLUDED(intent_mu_, mu_);

  // Which process serves `resource` ("type/id") of `name` now, and why:
  // "pinned", "canary" (in a canary's share), "named" (named to the
  // canary), "default" (the active version); resource_target.h.
  struct Placement {
    std::string version;
    pid_t pid = 0;
    std::string why;
    // Its calls still run on another process: the next ones wait for them.
    std::string moving_from;
    // The version a pin keeps it on ("" if none), also when that version
    // runs nowhere (then `why` is not "pinned").
    std::string pinned_to;
  };
  absl::StatusOr<Placement> Where(absl::string_view name,
                                  absl::string_view resource)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Clears a FAILED driver's mark and counters and starts it.
  // FAILED_PRECONDITION when the driver is not FAILED.
  absl::Status Reset(absl::string_view name, absl::string_view by = "")
      ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until the driver is READY, FAILED or STOPPED, or until `deadline`
  // (real time), and returns its status then.
  absl::StatusOr<DriverStatus> AwaitSettled(absl::string_view name,
                                            absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `done` with a READY instance of `request.driver`: at once when
  // there is one, otherwise when one becomes READY. `request.resource`
  // ("type/id", or "" for a call that names none) is counted on the
  // instance; while a replaced instance still runs calls on that resource,
  // the call waits for them. Otherwise, with DEADLINE_EXCEEDED when the
  // deadline passes first (bounded by max_route_wait), NOT_FOUND for an
  // unknown driver, FAILED_PRECONDITION for a driver stopped by an operator,
  // UNAVAILABLE for a FAILED one. A call whose category or resource type
  // does not fit the active version's manifest (CheckCallFits) is refused
  // at once, before it waits. `done` runs on the caller's thread or the
  // control thread, never under the lock. When `avoid_instance` is set, that
  // instance is skipped for up to a second (it just refused a connection).
  void AcquireRoute(RouteRequest request, RouteCallback done) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Saves `name`'s desired state with `enabled` (and, when enabled, without
  // a FAILED mark) before an operator action applies it; with nullopt,
  // saves it as it is, proving the store takes writes before an upgrade
  // or a rollback (supervisor_actions.cc).
  absl::Status SaveIntent(absl::string_view name, std::optional<bool> enabled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(intent_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  // Saves `next`, the desired state of `name` with a change applied;
  // UNAVAILABLE saying `what` could not be saved.
  absl::Status SaveDesired(absl::string_view name,
                           const DesiredDriverState& next,
                           absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(intent_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  template <typename Action>
  absl::Status SavedAction(absl::string_view name, bool enabled, Action action)
      ABSL_LOCKS_EXCLUDED(intent_mu_, mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // Reconciles the touched and due drivers; returns when the loop must wake
  // by itself.
  absl::Time ReconcileLocked(absl::Time now, Effects& effects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes what an operator's action changed; returns `result`.
  absl::Status AfterActionLocked(const std::string& name, absl::Status result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // `name` must be reconciled at the next pass, which runs soon.
  void TouchLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes waiters on changed_ for the drivers that changed, and touches the
  // drivers that require them (and every driver after a change of the start
  // order); `except` is being reconciled already.
  void PropagateChangesLocked(const std::string& except = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetStateLocked(const std::string& name, DriverRecord& r,
                      DriverState state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetTimerLocked(const std::string& name, DriverRecord& r,
                      absl::Time wake_at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Blocks until `name` has no process left (or `deadline`); the record,
  // or nullptr if it was removed meanwhile.
  DriverRecord* AwaitNoProcessLocked(absl::string_view name,
                                     absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool SettledLocked(const DriverRecord& r) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Where survivor `s` is taken back, or why it is not.
  enum class AdoptSlot { kNone, kServing, kCanary, kPinned };
  struct AdoptDecision {
    AdoptSlot slot = AdoptSlot::kNone;
    std::string why;  // for kNone
  };
  AdoptDecision DecideAdoptionLocked(const Survivor& s)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts survivor `s` into its slot of `r`; false (and `why` set) if a
  // canary it would serve cannot go on.
  bool PlaceSurvivorLocked(const Survivor& s, AdoptSlot slot, DriverRecord& r,
                           std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Goes on with the canary `saved` holds once the old version's process
  // was taken back; else reports it interrupted (`why` says why) and
  // returns false.
  bool ResumeCanaryLocked(const std::string& name, DriverRecord& r,
                          const DesiredDriverState& saved, std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The saved canaries no survivor of their new version took back: they go
  // on with a new process if the old version's was taken back, else are
  // reported rolled back.
  void SettleResumableCanariesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // InstanceEvents, called from the runner's, the launcher's and the
  // endpoints' threads.
  void OnExit(const std::string& driver, uint64_t instance_id,
              const ExitInfo& exit) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnProbe(const std::string& driver, uint64_t instance_id,
               absl::StatusOr<ProbeResult> result) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // The instance's socket appeared: probe it now rather than at the next
  // poll.
  void OnListening(const std::string& driver, uint64_t instance_id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnLaunched(const std::string& driver, uint64_t instance_id,
                  absl::StatusOr<pid_t> pid,
                  std::shared_ptr<DriverEndpoint> endpoint,
                  SandboxReport sandbox) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnLoadDrained(const std::string& driver) ABSL_LOCKS_EXCLUDED(mu_);

  // Constant after construction
  Clock& clock_;
  const SupervisorOptions options_;
  // Used by the control loop's thread (or Step's), without the lock.
  EffectRunner runner_;

  // Held across an operator action's save and its application, so that
  // intents are saved in the order they are applied.
  absl::Mutex intent_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  DesiredStateStore* store_ = nullptr;  // set before Run
  absl::Mutex mu_;
  DriverTable table_ ABSL_GUARDED_BY(mu_);
  MachineContext context_ ABSL_GUARDED_BY(mu_);
  DriverMachine machine_ ABSL_GUARDED_BY(mu_);
  // Drivers to reconcile at the next pass.
  std::set<std::string> touched_ ABSL_GUARDED_BY(mu_);
  // Every driver's own next wake (DriverRecord::wake_at), soonest first.
  std::set<std::pair<absl::Time, std::string>> timers_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  // When the control loop next wakes by itself.
  absl::Time next_wake_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // Canaries saved before a restart that may go on, from
  // RestoreDesiredState to AdoptSurvivors.
  std::map<std::string, DesiredDriverState> resumable_canaries_
      ABSL_GUARDED_BY(mu_);
  // Signalled when dirty_ is set or any state changes.
  absl::CondVar changed_;
  std::thread thread_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_SUPERVISOR_H_
