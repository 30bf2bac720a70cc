#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_MACHINE_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_MACHINE_H_

// The state machine of one driver (docs/architecture.md draws it):
//
//   STOPPED --start--> STARTING --probe ready--> READY
//   STARTING/READY --exit or start timeout--> BACKOFF --delay--> STARTING
//   BACKOFF --restart intensity exceeded--> FAILED (until an operator acts)
//   READY --probes keep failing--> DEGRADED --recovers--> READY
//                                  DEGRADED --grace passes--> killed, BACKOFF
//   STARTING/READY --stop--> STOPPING (SIGTERM; SIGKILL after the stop
//                                      timeout) --exit--> STOPPED
//
// plus the instances beside the serving one: a successor starting for a
// graceful restart or an upgrade (UpgradeSteps), and the replaced instance
// draining.
//
// Reconcile looks at one driver at `now` and decides: it edits the record
// and queues in Effects what must be done (launch, signal, probe, answer a
// parked call, save); it does no I/O and takes no lock. It returns when the
// driver must be looked at again if nothing else happens first.
//
// Not thread-safe: the Supervisor calls it under its lock.

#include <string>

#include "absl/time/time.h"
#include "supervisor/core/canary_steps.h"
#include "supervisor/core/desired_state.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/machine_context.h"
#include "supervisor/core/upgrade_run.h"

namespace pitstop {

// What of `r` survives a restart of the daemon.
DesiredDriverState DesiredStateOf(const DriverRecord& r);

class DriverMachine {
 public:
  explicit DriverMachine(MachineContext& context)
      : context_(context), upgrades_(context), canaries_(context) {}

  absl::Time Reconcile(const std::string& name, DriverRecord& r, absl::Time now,
                       Effects& effects);

  // A probe of `inst` answered: STARTING becomes READY, a serving driver
  // whose probes keep failing becomes DEGRADED, and recovers.
  void OnProbe(const std::string& name, DriverRecord& r, Instance& inst,
               bool ready, absl::Time now);

  // Applies the active version and upgrade saved before a restart of the
  // daemon (`saved` may be null: nothing was saved).
  void Restore(const std::string& name, DriverRecord& r,
               const DesiredDriverState* saved);

  UpgradeSteps& upgrades() { return upgrades_; }
  CanarySteps& canaries() { return canaries_; }

 private:
  // The successor of a graceful restart or an upgrade.
  void ReconcileSuccessor(const std::string& name, DriverRecord& r,
                          absl::Time now, Effects& effects);
  void StartSuccessor(const std::string& name, DriverRecord& r, absl::Time now,
                      Effects& effects);
  void CutOver(const std::string& name, DriverRecord& r, absl::Time now);
  // The replaced instance: drains, is cancelled at its drain timeout, stops.
  void ReconcileRetiring(const std::string& name, DriverRecord& r,
                         absl::Time now, Effects& effects);
  void NoteDrainedResources(const std::string& name, DriverRecord& r);
  // The serving instance ended: restart, back off, give up, or stop. True
  // when the reconciliation of the serving slot is over for this pass.
  bool HandleExit(const std::string& name, DriverRecord& r, absl::Time now,
                  Effects& effects);
  void HandleRestartPolicy(const std::string& name, DriverRecord& r,
                           absl::Time now, const std::string& how,
                           bool was_starting);
  // No process: start one if wanted and due.
  void StartIfDue(const std::string& name, DriverRecord& r, absl::Time now,
                  Effects& effects);
  // A live (or launching) serving process: stop, start-up probes, health.
  void ReconcileServing(const std::string& name, DriverRecord& r,
                        absl::Time now, Effects& effects);
  void ReconcileHealth(const std::string& name, DriverRecord& r, absl::Time now,
                       Effects& effects);
  // The earliest time a timer of `r` (not its parked calls) falls due.
  absl::Time NextTimer(const DriverRecord& r) const;

  MachineContext& context_;
  UpgradeSteps upgrades_;
  CanarySteps canaries_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_MACHINE_H_
