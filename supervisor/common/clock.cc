#include "supervisor/common/clock.h"

#include "absl/time/clock.h"

namespace pitstop {

absl::Time RealClock::Now() { return absl::Now(); }

absl::Time FakeClock::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

}  // namespace pitstop
