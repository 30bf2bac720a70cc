#ifndef PITSTOP_SUPERVISOR_SANITY_SANITY_CHECKS_H_
#define PITSTOP_SUPERVISOR_SANITY_SANITY_CHECKS_H_

// pitstop-sanity's checks (docs/vendor-guide.md, "Checking a driver with
// pitstop-sanity"): each has a stable name, says what it checks, and fails
// with a message naming what was wrong. They run in order against one
// driver under a private pitstopd (SanityDaemon); a check that needs the
// driver READY is skipped once it is not.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/sanity/sanity_daemon.h"

namespace pitstop {

struct SanityTarget {
  SanityDaemon* daemon = nullptr;
  DriverManifest manifest;
  // A valid property bag (--props, else made from the schema).
  std::map<std::string, std::string> props;
  // The CAR checked (the upgrade check packs a copy of it).
  std::string car;
  // An operation calls.operation-id applied, to replay after a kill -9:
  // its method, resource, request and answer.
  struct Applied {
    std::string method;
    std::string type, id, operation_id;
    std::string fields;
    std::string response;
  };
  std::optional<Applied> applied;
  // Upgrades to a copy of itself so far (each a higher version).
  int self_upgrades = 0;
};

struct SanityCheck {
  std::string name;  // "identity.get-info"
  std::string what;  // one line, for --list
  bool needs_ready = true;
  std::function<absl::Status(SanityTarget&)> run;
};

// Every check, in the order they run.
const std::vector<SanityCheck>& SanityChecks();

// A bag that satisfies `m`'s schema: each required property without a
// default gets a value of its type (its first allowed value, else its
// minimum, else "sanity", 1, true, 2026-01-01).
std::map<std::string, std::string> BagFromSchema(const DriverManifest& m);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_SANITY_CHECKS_H_
