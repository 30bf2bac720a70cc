#include "supervisor/cli/upgrade_watch.h"

#include <catch2/catch.hpp>
#include <vector>

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

std::vector<UpgradeProgress> Watch(const std::vector<sv1::EventKind>& kinds) {
  UpgradeWatch watch;
  std::vector<UpgradeProgress> out;
  for (sv1::EventKind kind : kinds) {
    sv1::Event e;
    e.set_kind_code(kind);
    out.push_back(watch.Next(e));
  }
  return out;
}

TEST_CASE("an upgrade ends when it has committed and the old version stopped",
          "[cli]") {
  using P = UpgradeProgress;
  REQUIRE(
      Watch({sv1::EVENT_KIND_UPGRADE_STARTED, sv1::EVENT_KIND_STATE,
             sv1::EVENT_KIND_UPGRADE_READY, sv1::EVENT_KIND_PROCESS,
             sv1::EVENT_KIND_UPGRADE_CUT_OVER,
             sv1::EVENT_KIND_UPGRADE_COMMITTED, sv1::EVENT_KIND_UPGRADE_DRAINED,
             sv1::EVENT_KIND_UPGRADE_OLD_STOPPED}) ==
      std::vector<P>{P::kGoing, P::kHidden, P::kGoing, P::kHidden, P::kGoing,
                     P::kCommitted, P::kCommitted, P::kEnded});
}

TEST_CASE("the old version stopping before the commit does not end it",
          "[cli]") {
  using P = UpgradeProgress;
  REQUIRE(Watch({sv1::EVENT_KIND_UPGRADE_OLD_STOPPED,
                 sv1::EVENT_KIND_UPGRADE_ROLLED_BACK}) ==
          std::vector<P>{P::kGoing, P::kRolledBack});
}

TEST_CASE("the event text is not what an upgrade is judged on", "[cli]") {
  sv1::Event e;
  e.set_kind("upgrade-rolled-back");  // but no kind_code
  UpgradeWatch watch;
  REQUIRE(watch.Next(e) == UpgradeProgress::kGoing);
}

}  // namespace
}  // namespace pitstop
