#ifndef PITSTOP_SUPERVISOR_COMMON_PERIODIC_THREAD_H_
#define PITSTOP_SUPERVISOR_COMMON_PERIODIC_THREAD_H_

// A thread that runs a task every `interval` until the object goes (its
// destructor wakes it and joins it: no sleeping out an interval).

#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pitstop {

class PeriodicThread {
 public:
  PeriodicThread(absl::Duration interval, std::function<void()> task)
      : thread_([this, interval, task = std::move(task)] {
          absl::MutexLock lock(&mu_);
          while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), interval)) {
            mu_.Unlock();
            task();
            mu_.Lock();
          }
        }) {}
  ~PeriodicThread() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

 private:
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_PERIODIC_THREAD_H_
