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
      thread_([this] { Follow(); }) {}

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

void DriverHealth::Follow() {
  // The events from here on change what the snapshot says.
  uint64_t since = events_.Last();
  // What each driver was last set to: a watcher hears of changes only
  // (STOPPING, STOPPED, STARTING are one NOT_SERVING).
  std::map<std::string, bool> serving;
  const auto set = [&](const std::string& driver, bool now) {
    auto [it, added] = serving.emplace(driver, now);
    if (!added && it->second == now) return;
    it->second = now;
    health_->SetServingStatus(DriverHealthName(driver), now);
  };
  for (const DriverStatus& d : supervisor_.List()) {
    set(d.package->manifest.name, d.state == DriverState::kReady);
  }
  while (!Stopping()) {
    // In slices, so that the destructor is not kept waiting.
    if (!events_.AwaitAfter(since, absl::Now() + absl::Milliseconds(250))) {
      continue;
    }
    for (const DriverEvent& e : events_.Since(since, "", &since)) {
      if (e.kind != "state") continue;
      set(e.driver, e.to == DriverState::kReady);
    }
  }
}

}  // namespace pitstop
