#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_RECORD_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_RECORD_H_

// Everything the Supervisor knows of one installed driver: its versions,
// operator intent, state, processes, upgrade and parked calls.
//
// Not thread-safe: records live in the DriverTable, under the Supervisor's
// lock.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "supervisor/car/semver.h"
#include "supervisor/core/driver_package.h"
#include "supervisor/core/driver_state.h"
#include "supervisor/core/instance.h"
#include "supervisor/core/restart_policy.h"
#include "supervisor/core/route_waiters.h"
#include "supervisor/core/upgrade_run.h"

namespace pitstop {

struct DriverRecord {
  // The instance with `id` in any slot; nullptr if none.
  Instance* FindInstance(uint64_t id);

  // The active version: what starts, and what serves unless an upgrade is
  // between its cut-over and a rollback.
  std::shared_ptr<const DriverPackage> package;
  // Every installed version.
  std::map<SemVer, std::shared_ptr<const DriverPackage>> installed;
  std::string previous_version;  // before the last committed upgrade
  std::optional<UpgradeRun> upgrade;

  // Intent
  bool want_running = false;
  // Operator intent, persisted: false after `pitstop stop`.
  bool enabled = true;
  // Intent or FAILED mark changed and is not saved yet.
  bool persist_pending = false;
  bool restart_requested = false;
  // A graceful restart (or an upgrade) waits for its successor to start.
  bool graceful_requested = false;

  DriverState state = DriverState::kStopped;
  absl::Time state_since;
  std::string message;
  std::string unresolved;  // why it can never start; empty if it can

  // The serving (or starting) process.
  std::unique_ptr<Instance> instance;
  // Graceful restart or upgrade: a new process starting beside `instance`.
  std::unique_ptr<Instance> successor;
  // Replaced by its successor: finishing its calls, then stopped (or kept
  // as standby until an upgrade commits).
  std::unique_ptr<Instance> retiring;

  // Restarts
  RestartPolicy policy;
  uint32_t restarts = 0;
  absl::Time backoff_until;
  std::string last_exit;

  // Operator intent, persisted: "type/id" -> the version it stays on
  // (`pitstop pin`), through upgrades.
  std::map<std::string, std::string> pins;

  RouteWaiters waiters;
  // When the control loop must look at this driver again by itself (kept
  // by the Supervisor, beside its timer index).
  absl::Time wake_at = absl::InfiniteFuture();
};

inline Instance* DriverRecord::FindInstance(uint64_t id) {
  for (Instance* inst : {instance.get(), successor.get(), retiring.get()}) {
    if (inst != nullptr && inst->id == id) return inst;
  }
  return nullptr;
}

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_RECORD_H_
