#include "supervisor/rpc/driver_health.h"

#include <grpcpp/health_check_service_interface.h>

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace pitstop {

std::string DriverHealthName(const std::string& driver) {
  return absl::StrCat("pitstop.driver/", driver);
}

DriverHealth::DriverHealth(Supervisor& supervisor, EventLog& events,
                           grpc::HealthCheckServiceInterface* health)
    : supervisor_(supervisor),
      events_(events),
      health_(health),
      // The events from here on change what the snapshot says.
      since_(events.Last()) {
  for (const DriverStatus& d : supervisor_.List()) {
    Set(d.package->manifest.name, d.state == DriverState::kReady);
  }
  thread_ = std::thread([this] { Follow(); });
}

DriverHealth::~DriverHealth() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

bool DriverHealth::Stopping() {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void DriverHealth::Set(const std::string& driver, bool serving) {
  auto [it, added] = serving_.emplace(driver, serving);
  if (!added && it->second == serving) return;
  it->second = serving;
  health_->SetServingStatus(DriverHealthName(driver), serving);
}

void DriverHealth::Follow() {
  while (!Stopping()) {
    // In slices, so that the destructor is not kept waiting.
    if (!events_.AwaitAfter(since_, absl::Now() + absl::Milliseconds(250))) {
      continue;
    }
    for (const DriverEvent& e : events_.Since(since_, "", &since_)) {
      if (e.kind == "state") Set(e.driver, e.to == DriverState::kReady);
    }
  }
}

}  // namespace pitstop
