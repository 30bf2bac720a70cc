#include "supervisor/rpc/event_kind.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;

namespace {

struct KindName {
  absl::string_view text;
  sv1::EventKind kind;
};

// Every kind the core emits (supervisor/core/supervisor.cc) and the RPC
// layer's own "update-available".
constexpr KindName kKinds[] = {
    {"state", sv1::EVENT_KIND_STATE},
    {"installed", sv1::EVENT_KIND_INSTALLED},
    {"operator", sv1::EVENT_KIND_OPERATOR},
    {"process", sv1::EVENT_KIND_PROCESS},
    {"drain-timeout", sv1::EVENT_KIND_DRAIN_TIMEOUT},
    {"update-available", sv1::EVENT_KIND_UPDATE_AVAILABLE},
    {"upgrade-started", sv1::EVENT_KIND_UPGRADE_STARTED},
    {"upgrade-ready", sv1::EVENT_KIND_UPGRADE_READY},
    {"upgrade-cut-over", sv1::EVENT_KIND_UPGRADE_CUT_OVER},
    {"upgrade-resource-drained", sv1::EVENT_KIND_UPGRADE_RESOURCE_DRAINED},
    {"upgrade-drained", sv1::EVENT_KIND_UPGRADE_DRAINED},
    {"upgrade-committed", sv1::EVENT_KIND_UPGRADE_COMMITTED},
    {"upgrade-rolled-back", sv1::EVENT_KIND_UPGRADE_ROLLED_BACK},
    {"upgrade-old-stopped", sv1::EVENT_KIND_UPGRADE_OLD_STOPPED},
    {"canary-step", sv1::EVENT_KIND_CANARY_STEP},
    {"canary-gate", sv1::EVENT_KIND_CANARY_GATE},
};

}  // namespace

sv1::EventKind EventKindFromString(absl::string_view kind) {
  for (const KindName& k : kKinds) {
    if (k.text == kind) return k.kind;
  }
  return sv1::EVENT_KIND_UNSPECIFIED;
}

}  // namespace pitstop
