#include "supervisor/cli/upgrade_watch.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;

UpgradeProgress UpgradeWatch::Next(const sv1::Event& event) {
  switch (event.kind_code()) {
    case sv1::EVENT_KIND_STATE:
    case sv1::EVENT_KIND_PROCESS:
      return UpgradeProgress::kHidden;
    case sv1::EVENT_KIND_UPGRADE_ROLLED_BACK:
      return UpgradeProgress::kRolledBack;
    case sv1::EVENT_KIND_UPGRADE_COMMITTED:
      committed_ = true;
      return UpgradeProgress::kCommitted;
    case sv1::EVENT_KIND_UPGRADE_OLD_STOPPED:
      return committed_ ? UpgradeProgress::kEnded : UpgradeProgress::kGoing;
    default:
      return committed_ ? UpgradeProgress::kCommitted : UpgradeProgress::kGoing;
  }
}

}  // namespace pitstop
