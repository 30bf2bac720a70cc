#ifndef PITSTOP_SUPERVISOR_CORE_DRIVER_TABLE_H_
#define PITSTOP_SUPERVISOR_CORE_DRIVER_TABLE_H_

// The installed drivers by name, their start order, and the questions that
// span drivers: which requirements hold, who requires whom, why a version
// could not become active.
//
// Not thread-safe: the Supervisor holds it under its lock.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/core/driver_record.h"
#include "supervisor/core/sandbox_policy.h"

namespace pitstop {

// A driver's place in the start order, with the reason for it.
struct OrderEntry {
  std::string name;
  DriverCategory category = DriverCategory::kStorage;
  int level = 0;
  std::vector<std::string> requires_;
  std::string reason;
  bool startable = true;
};

class DriverTable {
 public:
  using Map = std::map<std::string, DriverRecord, std::less<>>;

  explicit DriverTable(SandboxPolicyOptions sandbox)
      : sandbox_(std::move(sandbox)) {}

  // nullptr for an unknown name.
  DriverRecord* Find(absl::string_view name);
  const DriverRecord* Find(absl::string_view name) const;
  // NOT_FOUND naming the driver and listing the installed ones.
  absl::Status UnknownDriver(absl::string_view name) const;

  // A new record for `name` (not in the table yet).
  DriverRecord& Add(const std::string& name);
  void Erase(absl::string_view name);

  Map& records() { return records_; }
  const Map& records() const { return records_; }

  // Names in start order (unresolvable drivers last, by name).
  const std::vector<std::string>& start_order() const { return order_; }
  std::vector<OrderEntry> StartOrderDetails() const;
  // Recomputes the start order and every record's `unresolved` (a missing
  // dependency, a cycle, a permission not granted). Call after any change
  // of the installed drivers or of an active version.
  void RecomputeOrder();
  // Whether RecomputeOrder ran since the last call.
  bool TakeOrderChanged() { return std::exchange(order_changed_, false); }

  // Whether every driver `r` requires is READY; else names the first that
  // is not.
  bool DependenciesReady(const DriverRecord& r, std::string* waiting_for) const;
  // The drivers whose active version requires `name`.
  std::vector<std::string> Dependents(absl::string_view name) const;
  // Why `to` cannot become the active version of `name`; "" if it can.
  std::string UpgradeBlocker(const std::string& name,
                             const DriverPackage& to) const;

 private:
  const SandboxPolicyOptions sandbox_;
  Map records_;
  std::vector<std::string> order_;
  bool order_changed_ = false;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_DRIVER_TABLE_H_
