#ifndef PITSTOP_SUPERVISOR_CLI_UPGRADE_WATCH_H_
#define PITSTOP_SUPERVISOR_CLI_UPGRADE_WATCH_H_

// What one driver's events, in order, say about the upgrade in progress:
// the decision `pitstop upgrade` and `rollback` wait on. Pure; matches on
// Event.kind_code only.

#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

enum class UpgradeProgress {
  // A state change or a process event: not part of the upgrade's story.
  kHidden,
  // A step of an upgrade still in progress.
  kGoing,
  // Committed: over once a single process is left (ask the daemon).
  kCommitted,
  // Committed and the old version stopped: over.
  kEnded,
  // Rolled back: over.
  kRolledBack,
};

class UpgradeWatch {
 public:
  // The upgrade's progress after `event`, the next of the driver's events.
  UpgradeProgress Next(const pitstop::supervisor::v1::Event& event);

 private:
  bool committed_ = false;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_UPGRADE_WATCH_H_
