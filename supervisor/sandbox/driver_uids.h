#ifndef PITSTOP_SUPERVISOR_SANDBOX_DRIVER_UIDS_H_
#define PITSTOP_SUPERVISOR_SANDBOX_DRIVER_UIDS_H_

// Which uid each driver runs as: base + a stable index in [0, count), from
// a hash of the driver's name, moved to the next free index when another
// driver has it, so two drivers never share a uid. Thread-safe.

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace pitstop {

class DriverUids {
 public:
  DriverUids(uint32_t base, uint32_t count)
      : base_(base), count_(count == 0 ? 1 : count) {}

  // The same uid for the same name for the life of this object.
  uint32_t For(const std::string& driver) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const uint32_t base_;
  const uint32_t count_;
  absl::Mutex mu_;
  std::map<std::string, uint32_t> uids_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_DRIVER_UIDS_H_
