#ifndef PITSTOP_SUPERVISOR_CORE_MACHINE_CONTEXT_H_
#define PITSTOP_SUPERVISOR_CORE_MACHINE_CONTEXT_H_

// What every step of a driver's state machine shares: the daemon's options,
// the event log, the driver table, and the edits of a record that come with
// an event (a transition, a note, a change of the active version, a new
// instance). Used by the DriverMachine, the UpgradeSteps and the
// Supervisor's API.
//
// Not thread-safe: used only under the Supervisor's lock. Does no I/O but
// logging.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/driver_table.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/event_log.h"
#include "supervisor/core/supervisor_options.h"

namespace pitstop {

// "1.5s", to the millisecond.
std::string ShortDuration(absl::Duration d);

// The restart policy of a driver: the daemon's, with the driver's own
// overrides where they are stricter (fewer restarts, a longer window,
// shorter backoff).
RestartPolicyOptions EffectiveRestartPolicy(const RestartPolicyOptions& daemon,
                                            const DriverRestartPolicy& driver);

class MachineContext {
 public:
  // `on_load_drained(driver)` runs, without any lock, when a retiring
  // instance of `driver` drained a resource or all of its calls.
  MachineContext(const SupervisorOptions& options, EventLog& events,
                 DriverTable& table,
                 std::function<void(const std::string&)> on_load_drained);

  const SupervisorOptions& options() const { return options_; }
  DriverTable& table() { return table_; }
  EventLog& events() { return events_; }

  // Moves `r` to `state` (logged, and an event); the driver is listed in
  // TakeChanged.
  void SetState(const std::string& name, DriverRecord& r, DriverState state,
                absl::Time now);
  // Lists `name` in TakeChanged: something a waiter for the driver may look
  // at changed (an upgrade ended, an instance left).
  void Changed(const std::string& name) { changed_.push_back(name); }
  // Drivers that changed since the last call, in order, possibly repeated.
  std::vector<std::string> TakeChanged();

  DriverEvent MakeEvent(const std::string& name, const DriverRecord& r,
                        absl::string_view kind, std::string reason,
                        pid_t pid = 0) const;
  // Records an event other than a transition; returns its sequence number.
  uint64_t Note(const std::string& name, const DriverRecord& r,
                absl::string_view kind, std::string reason, pid_t pid = 0);

  // Makes `package` the active version, with its restart policy. The
  // policy starts afresh: a version activated by an upgrade, a rollback or a
  // switch while stopped does not inherit the exits its predecessor spent
  // (docs/lifecycle.md, "Restart budget across versions"). The driver's
  // restart count goes on.
  void SetPackage(DriverRecord& r,
                  std::shared_ptr<const DriverPackage> package) const;

  // A new instance of `package` for `name`, and how to launch it. An
  // instance that cannot be launched (a permission not granted, a socket
  // path too long) comes back exited, with its failure.
  std::unique_ptr<Instance> NewInstance(
      const std::string& name, std::shared_ptr<const DriverPackage> package,
      absl::Time now, Effects::Launch* launch);
  // An instance an earlier daemon started (instance `id`, process `pid`),
  // taken back: STARTING until its probe answers. Later instances get
  // higher ids.
  std::unique_ptr<Instance> AdoptedInstance(
      const std::string& name, std::shared_ptr<const DriverPackage> package,
      uint64_t id, pid_t pid, absl::Time now);

 private:
  // The parts NewInstance and AdoptedInstance share; later instances get
  // ids above `id`.
  std::unique_ptr<Instance> MakeInstance(
      const std::string& name, std::shared_ptr<const DriverPackage> package,
      uint64_t id, absl::Time now);

  // Constant after construction
  const SupervisorOptions& options_;
  EventLog& events_;
  DriverTable& table_;
  const std::function<void(const std::string&)> on_load_drained_;

  uint64_t next_instance_id_ = 1;
  std::vector<std::string> changed_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_MACHINE_CONTEXT_H_
