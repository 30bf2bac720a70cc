#include "supervisor/rpc/event_kind.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

// Every kind the core emits today: `grep -rn 'NoteLocked\|MakeEventLocked'
// supervisor/core/`, plus admin_service.cc's "update-available".
constexpr const char* kEmittedKinds[] = {
    "state",
    "installed",
    "operator",
    "process",
    "drain-timeout",
    "update-available",
    "upgrade-started",
    "upgrade-ready",
    "upgrade-cut-over",
    "upgrade-resource-drained",
    "upgrade-drained",
    "upgrade-committed",
    "upgrade-rolled-back",
    "upgrade-old-stopped",
    "canary-step",
    "canary-gate",
};

TEST_CASE("every event kind the daemon emits has its own enum value", "[rpc]") {
  std::set<sv1::EventKind> seen;
  for (const char* text : kEmittedKinds) {
    INFO(text);
    const sv1::EventKind kind = EventKindFromString(text);
    REQUIRE(kind != sv1::EVENT_KIND_UNSPECIFIED);
    REQUIRE(seen.insert(kind).second);
  }
  // ... and every value but UNSPECIFIED stands for one of them.
  REQUIRE(static_cast<int>(seen.size()) ==
          sv1::EventKind_descriptor()->value_count() - 1);
}

TEST_CASE("an unknown event kind maps to UNSPECIFIED", "[rpc]") {
  for (const char* text : {"", "State", "upgrade", "upgrade-committed "}) {
    INFO(text);
    REQUIRE(EventKindFromString(text) == sv1::EVENT_KIND_UNSPECIFIED);
  }
}

}  // namespace
}  // namespace pitstop
