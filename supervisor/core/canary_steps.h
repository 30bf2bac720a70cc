#ifndef PITSTOP_SUPERVISOR_CORE_CANARY_STEPS_H_
#define PITSTOP_SUPERVISOR_CORE_CANARY_STEPS_H_

// The steps of a canary upgrade before its cut-over (docs/lifecycle.md,
// "Canary upgrades"):
//
//   the new version READY (the successor) -> it serves its share of the
//   resources beside the old one, which serves the rest
//     -> every interval the gate compares the two versions' calls:
//        holds -> the next step (a larger share); at 100% the cut-over,
//                 and the upgrade's probation, as for any upgrade
//        fails, the new version crashes or fails its probes, or an
//        operator aborts -> every canary resource back to the old version
//
// A resource moving between versions waits until its calls on the version
// it leaves have ended (route_waiters.cc), at every step and at a rollback.
//
// Not thread-safe: runs under the Supervisor's lock, from the DriverMachine
// and the Supervisor's API. No I/O.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pitstop {

class MachineContext;
struct DriverRecord;
struct Effects;
struct Instance;
struct SavedCanary;

class CanarySteps {
 public:
  explicit CanarySteps(MachineContext& context) : context_(context) {}

  // The successor became READY: true if a canary keeps it serving its
  // share instead of cutting over.
  bool Serve(const std::string& name, DriverRecord& r, absl::Time now);
  // Takes back a canary saved before a restart of pitstopd, at its saved
  // step, once the old version's process was re-adopted: the new version's
  // process is adopted as the successor (or started again), and the
  // canary's resources wait for it to answer. Errors say why it cannot go
  // on (then the old version stays active alone).
  absl::StatusOr<uint64_t> Resume(const std::string& name, DriverRecord& r,
                                  const SavedCanary& saved,
                                  absl::string_view to_version, absl::Time now);
  // The gate, the next step, a rollback, at `now`; before the successor's
  // own reconciliation. True if the canary ended this pass.
  bool Reconcile(const std::string& name, DriverRecord& r, absl::Time now,
                 Effects& effects);
  // A probe of the serving successor answered.
  void OnProbe(DriverRecord& r, bool ready, absl::Time now);

  // An operator's hand: promote (straight to 100%: the cut-over), pause
  // (no next step until resumed; the gate still rolls back), resume.
  // FAILED_PRECONDITION when no canary runs. Return the event's number.
  absl::StatusOr<uint64_t> Promote(const std::string& name, DriverRecord& r);
  absl::StatusOr<uint64_t> Pause(const std::string& name, DriverRecord& r,
                                 bool paused);

 private:
  void BeginStep(const std::string& name, DriverRecord& r, absl::Time now,
                 const std::string& why);
  void RollBack(const std::string& name, DriverRecord& r, absl::Time now,
                const std::string& cause, Effects& effects);
  void JudgeGate(const std::string& name, DriverRecord& r, absl::Time now,
                 Effects& effects);
  void PruneMoving(DriverRecord& r);

  MachineContext& context_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_CANARY_STEPS_H_
