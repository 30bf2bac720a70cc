#ifndef PITSTOP_SUPERVISOR_CORE_SUPERVISOR_H_
#define PITSTOP_SUPERVISOR_CORE_SUPERVISOR_H_

// The Supervisor runs every driver through one state machine:
//
//   STOPPED --start--> STARTING --probe ready--> READY
//   STARTING/READY --exit or start timeout--> BACKOFF --delay--> STARTING
//   BACKOFF --restart intensity exceeded--> FAILED (until an operator acts)
//   STARTING/READY --stop--> STOPPING (SIGTERM; SIGKILL after the stop
//                                      timeout) --exit--> STOPPED
//
// A control loop reconciles each driver's wanted state (running or not) with
// its process, on its own thread (Run) or one pass at a time (Step, for
// tests with a fake clock). Process exits and probe answers arrive as events
// from the launcher's and the endpoints' threads.
//
// Routing: AcquireRoute hands out the READY instance of a driver, or parks
// the request until one is READY or its deadline passes, without blocking
// the caller's thread.
//
// Thread-safe. Never calls the launcher, an endpoint or a route callback
// while holding its lock.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/clock.h"
#include "supervisor/core/desired_state.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/driver_state.h"
#include "supervisor/core/entrypoint_verifier.h"
#include "supervisor/core/event_log.h"
#include "supervisor/core/instance_load.h"
#include "supervisor/core/restart_policy.h"
#include "supervisor/core/route_source.h"
#include "supervisor/core/sandbox_policy.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

// The restart policy of a driver: the daemon's, with the driver's own
// overrides where they are stricter (fewer restarts, a longer window,
// shorter backoff).
RestartPolicyOptions EffectiveRestartPolicy(const RestartPolicyOptions& daemon,
                                            const DriverRestartPolicy& driver);

struct SupervisorOptions {
  // Per-instance private directories: <run_dir>/<driver>/<instance>/, holding
  // the instance's socket.
  std::string run_dir;
  // Per-driver data that survives restarts and upgrades: <data_dir>/<driver>/.
  std::string data_dir;
  absl::Duration probe_interval = absl::Milliseconds(5);
  absl::Duration probe_timeout = absl::Seconds(1);
  // Health of serving drivers: a probe every health_interval; after
  // health_failures failures in a row the driver is DEGRADED (no new calls),
  // and replaced if it does not recover within degraded_grace.
  absl::Duration health_interval = absl::Seconds(1);
  uint32_t health_failures = 3;
  absl::Duration degraded_grace = absl::Seconds(5);
  // How long a routed call without a deadline waits for a READY instance.
  absl::Duration max_route_wait = absl::Seconds(30);
  RestartPolicyOptions restart;
  // How long a new version must serve without failing before its upgrade
  // commits, unless the upgrade says otherwise.
  absl::Duration upgrade_probation = absl::Seconds(10);
  // Limits and grants for every driver's sandbox (sandbox_policy.h).
  SandboxPolicyOptions sandbox;
};

// One process of a driver. During an upgrade or a graceful restart there are
// two: the serving one and the one starting or draining beside it.
struct InstanceStatus {
  uint64_t id = 0;
  pid_t pid = 0;  // 0 until launched
  std::string version;
  // "serving", "starting" (a successor not yet serving), "draining" (replaced,
  // finishing its calls), "standby" (drained, kept until an upgrade commits).
  std::string role;
  int calls_in_flight = 0;
  // The protections in force for this process (mode "off" until launched).
  SandboxReport sandbox;
};

// A snapshot of one driver, for the API.
struct DriverStatus {
  std::shared_ptr<const DriverPackage> package;
  DriverState state = DriverState::kStopped;
  absl::Time state_since;
  pid_t pid = 0;
  uint32_t restarts = 0;
  std::string last_exit;
  std::string message;
  std::string socket_path;
  // The protections in force for the serving instance (mode "off" when no
  // process runs); each instance has its own in `instances`.
  SandboxReport sandbox;
  std::vector<InstanceStatus> instances;
  // Every installed version, oldest first; package->manifest.version is the
  // active one.
  std::vector<std::string> installed_versions;
  // The version active before the last committed upgrade (what `pitstop
  // rollback` returns to); empty if none.
  std::string previous_version;
  // The upgrade in progress, e.g. "1.2.0 -> 2.0.0: probation until ...";
  // empty when none.
  std::string upgrade;
  std::string upgrade_from, upgrade_to;  // of the upgrade in progress
};

// How an upgrade proceeds; zero durations take the driver's defaults.
struct UpgradeOptions {
  // How long the old instance may finish its calls after the cut-over;
  // calls still running then are cancelled. Default: timeouts.drain.
  absl::Duration drain_timeout;
  // How long the new version must keep serving (no crash, no failed probes)
  // before the upgrade commits and the old instance stops.
  absl::Duration probation;
};

class Supervisor : public RouteSource {
 public:
  Supervisor(ProcessLauncher& launcher, DriverEndpointFactory& endpoints,
             Clock& clock, EventLog& events, SupervisorOptions options);
  // Stops the control loop. Drivers still running are left to the launcher,
  // which kills them; call StopAll first for a graceful stop.
  ~Supervisor();

  // Registers an installed driver version. The first version of a name is
  // its active one, stopped; a further version is installed beside it
  // (inactive: `Upgrade` activates it). ALREADY_EXISTS for a known name and
  // version.
  absl::Status AddDriver(DriverPackage package);

  // Forgets an installed version that is neither active nor running and
  // returns it, so the caller can delete its files. FAILED_PRECONDITION for
  // the active version (remove the whole driver instead).
  absl::StatusOr<std::shared_ptr<const DriverPackage>> RemoveVersion(
      absl::string_view name, absl::string_view version);

  // Stops `name` (gracefully, bounded by its stop timeout) and forgets it;
  // returns every installed version so the caller can delete their files.
  // Blocks. FAILED_PRECONDITION when another installed driver requires it.
  absl::StatusOr<std::vector<std::shared_ptr<const DriverPackage>>>
  RemoveDriver(absl::string_view name);

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
      const std::map<std::string, DesiredDriverState>& saved);

  // Starts the control loop on its own thread.
  void Run();

  // One reconciliation pass at the clock's current time (tests).
  void Step();

  // Names in start order (unresolvable drivers last, by name).
  std::vector<std::string> StartOrder();

  // Starts every enabled, not FAILED driver level by level (network,
  // storage, hypervisor); each level waits until its drivers are READY or
  // have failed. Blocks.
  void StartAll();

  // Stops every driver in exact reverse start order, one at a time, each
  // bounded by its stop timeout. Returns when no driver process remains.
  void StopAll();

  std::vector<DriverStatus> List();
  // NOT_FOUND naming the driver.
  absl::StatusOr<DriverStatus> Get(absl::string_view name);

  // Operator actions. Start: FAILED_PRECONDITION if already running. Start and
  // Restart reset the restart counters and skip any backoff.
  absl::Status Start(absl::string_view name);
  absl::Status Stop(absl::string_view name);
  //
  // Restart without `force` of a READY driver is graceful: a new instance is
  // started beside the serving one; once it is READY it takes all new calls,
  // and the old one finishes the calls it has (up to timeouts.drain) before
  // it is stopped. No call fails. If the new instance fails to start, the
  // old one keeps serving. With `force`, or when the driver is not READY,
  // the process is stopped, then started.
  absl::Status Restart(absl::string_view name, bool force = false);
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
                                   UpgradeOptions options = {});
  // Upgrades back to the version active before the last committed upgrade;
  // during an upgrade's probation, abandons it at once (the old instance
  // serves again). FAILED_PRECONDITION when there is nothing to roll back.
  // Returns the sequence number of the event that starts the rollback.
  absl::StatusOr<uint64_t> Rollback(absl::string_view name,
                                    UpgradeOptions options = {});

  // Clears a FAILED driver's mark and counters and starts it.
  // FAILED_PRECONDITION when the driver is not FAILED.
  absl::Status Reset(absl::string_view name);

  // The start order with the reason for each place.
  struct OrderEntry {
    std::string name;
    DriverCategory category = DriverCategory::kStorage;
    int level = 0;
    std::vector<std::string> requires_;
    std::string reason;
    bool startable = true;
  };
  std::vector<OrderEntry> StartOrderDetails();

  // Blocks until the driver is READY, FAILED or STOPPED, or until `deadline`
  // (real time), and returns its status then.
  absl::StatusOr<DriverStatus> AwaitSettled(absl::string_view name,
                                            absl::Time deadline);

  // Calls `done` with a READY instance of `driver`: at once when there is
  // one, otherwise when one becomes READY. `resource` ("type/id", or "" for
  // a call that names none) is counted on the instance; while a replaced
  // instance still runs calls on that resource, the call waits for them.
  // Otherwise, with DEADLINE_EXCEEDED when
  // `deadline` passes first (bounded by max_route_wait), NOT_FOUND for an
  // unknown driver, FAILED_PRECONDITION for a driver stopped by an operator,
  // UNAVAILABLE for a FAILED one. `done` runs on the caller's thread or the
  // control thread, never under the lock. When `avoid_instance` is set, that
  // instance is skipped for up to a second (it just refused a connection).
  // A call whose category or resource type does not fit the active
  // version's manifest (CheckCallFits) is refused at once, before it waits.
  void AcquireRoute(RouteRequest request, RouteCallback done) override;

 private:
  struct Instance {
    uint64_t id = 0;
    // The version this process runs.
    std::shared_ptr<const DriverPackage> package;
    pid_t pid = 0;
    std::string dir;
    std::string socket_path;
    std::shared_ptr<DriverEndpoint> endpoint;
    bool launched = false;
    bool exited = false;
    ExitInfo exit;
    std::string failure;  // overrides the exit description when set
    SandboxReport sandbox;
    bool probe_in_flight = false;
    absl::Time next_probe;
    absl::Time start_deadline;
    absl::Time kill_at = absl::InfiniteFuture();
    bool kill_sent = false;
    std::string probe_message;
    uint32_t health_failures = 0;
    // Graceful restart: the successor has answered its probe.
    bool ready = false;
    // Retiring: SIGTERM sent after draining.
    bool term_sent = false;
    absl::Time drain_deadline = absl::InfiniteFuture();
    // Retiring after an upgrade's cut-over: kept running (drained) until the
    // upgrade commits, to take the work back on a rollback.
    bool standby = false;
    bool drained_noted = false;
    bool cancel_sent = false;
    // Resources whose calls were cancelled at the drain timeout: the
    // process may still work on them, so they wait until it has exited.
    std::set<std::string> held;
    // The new version of an upgrade that was rolled back, draining.
    bool rolled_back = false;
    // Calls routed to this instance and not finished (see Route::lease).
    std::shared_ptr<InstanceLoad> load;
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
  };
  struct Waiter {
    std::string resource;
    absl::Time deadline;
    uint64_t avoid_instance = 0;
    absl::Time avoid_until;
    RouteCallback done;
  };
  struct Record {
    // The active version: what starts, and what serves unless an upgrade is
    // between its cut-over and a rollback.
    std::shared_ptr<const DriverPackage> package;
    // Every installed version.
    std::map<SemVer, std::shared_ptr<const DriverPackage>> installed;
    std::string previous_version;  // before the last committed upgrade
    std::optional<UpgradeRun> upgrade;
    bool want_running = false;
    // Operator intent, persisted: false after `pitstop stop`.
    bool enabled = true;
    // Intent or FAILED mark changed and is not saved yet.
    bool persist_pending = false;
    bool restart_requested = false;
    DriverState state = DriverState::kStopped;
    absl::Time state_since;
    // The serving (or starting) process.
    std::unique_ptr<Instance> instance;
    // Graceful restart: a new process starting beside `instance`.
    std::unique_ptr<Instance> successor;
    bool graceful_requested = false;
    // Replaced by its successor: finishing its calls, then stopped.
    std::unique_ptr<Instance> retiring;
    RestartPolicy policy;
    uint32_t restarts = 0;
    absl::Time backoff_until;
    std::string last_exit;
    std::string message;
    std::string unresolved;  // why it can never start; empty if it can
    std::vector<Waiter> waiters;
  };
  // Work decided under the lock, done after releasing it.
  struct Actions {
    struct Launch {
      std::string driver;
      uint64_t instance_id;
      LaunchSpec spec;
      std::string dir;
      std::string expected_sha256;  // of spec.executable; empty: unchecked
    };
    std::vector<Launch> launches;
    std::vector<std::pair<pid_t, int>> signals;
    std::vector<std::tuple<std::string, uint64_t,
                           std::shared_ptr<DriverEndpoint>, absl::Time>>
        probes;
    std::vector<std::pair<RouteCallback, absl::StatusOr<Route>>> replies;
    std::vector<std::string> remove_dirs;
    std::vector<std::pair<std::string, DesiredDriverState>> persist;
    // Loads whose remaining calls must be cancelled (drain timeout).
    std::vector<std::shared_ptr<InstanceLoad>> cancels;
    // Events to record once `persist` is saved.
    std::vector<DriverEvent> after_persist;
  };

  void Execute(Actions actions) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Time ReconcileLocked(absl::Time now, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconcileDriverLocked(const std::string& name, Record& r, absl::Time now,
                             Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResolveWaitersLocked(const std::string& name, Record& r, absl::Time now,
                            Actions& actions, absl::Time& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One waiter: true when it was answered (a route or an error); otherwise
  // `next` is lowered to when it must be looked at again.
  bool ResolveWaiterLocked(const std::string& name, Record& r, absl::Time now,
                           Waiter& w, Actions& actions, absl::Time& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetStateLocked(const std::string& name, Record& r, DriverState state,
                      absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  DriverEvent MakeEventLocked(const std::string& name, const Record& r,
                              absl::string_view kind, std::string reason,
                              pid_t pid = 0) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records an event other than a transition; returns its sequence number.
  uint64_t NoteLocked(const std::string& name, const Record& r,
                      absl::string_view kind, std::string reason, pid_t pid = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool DependenciesReadyLocked(const Record& r, std::string* waiting_for)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Actions::Launch PrepareLaunchLocked(const std::string& name, Record& r,
                                      absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::unique_ptr<Instance> NewInstanceLocked(
      const std::string& name, std::shared_ptr<const DriverPackage> package,
      absl::Time now, Actions::Launch* launch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconcileUpgradeLocked(const std::string& name, Record& r,
                              absl::Time now, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the work back to the old instance; `cause` says why.
  void RollBackLocked(const std::string& name, Record& r, absl::Time now,
                      const std::string& cause, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndUpgradeLocked(Record& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes `package` the active version, with its restart policy.
  void SetPackageLocked(Record& r, std::shared_ptr<const DriverPackage> package)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  DesiredDriverState DesiredLocked(const Record& r) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why `to` cannot become the active version of `name`; "" if it can.
  std::string UpgradeBlockerLocked(const std::string& name,
                                   const DriverPackage& to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconcileSuccessorLocked(const std::string& name, Record& r,
                                absl::Time now, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReconcileRetiringLocked(const std::string& name, Record& r,
                               absl::Time now, Actions& actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static Instance* FindInstance(Record& r, uint64_t id);
  DriverStatus SnapshotLocked(const Record& r) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Record* FindLocked(absl::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UnknownDriverLocked(absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> StartOrderLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecomputeOrderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  // Event handlers, called from other threads.
  void OnExit(const std::string& driver, uint64_t instance_id,
              const ExitInfo& exit) ABSL_LOCKS_EXCLUDED(mu_);
  void OnProbe(const std::string& driver, uint64_t instance_id,
               absl::StatusOr<ProbeResult> result) ABSL_LOCKS_EXCLUDED(mu_);
  // The instance's socket appeared: probe it now rather than at the next
  // poll.
  void OnListening(const std::string& driver, uint64_t instance_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnLaunched(const std::string& driver, uint64_t instance_id,
                  absl::StatusOr<pid_t> pid,
                  std::shared_ptr<DriverEndpoint> endpoint,
                  SandboxReport sandbox = {}) ABSL_LOCKS_EXCLUDED(mu_);
  bool SettledLocked(const Record& r) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction
  ProcessLauncher& launcher_;
  DriverEndpointFactory& endpoints_;
  Clock& clock_;
  EventLog& events_;
  const SupervisorOptions options_;
  DesiredStateStore* store_ = nullptr;  // set before Run
  EntrypointVerifier entrypoints_{clock_};

  absl::Mutex mu_;
  std::map<std::string, Record, std::less<>> drivers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> start_order_ ABSL_GUARDED_BY(mu_);
  uint64_t next_instance_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  // When the control loop next wakes by itself (after its last pass).
  absl::Time next_wake_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // Signalled when dirty_ is set or any state changes.
  absl::CondVar changed_;
  std::thread thread_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_SUPERVISOR_H_
