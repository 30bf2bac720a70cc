#ifndef PITSTOP_BENCH_LOAD_GENERATOR_H_
#define PITSTOP_BENCH_LOAD_GENERATOR_H_

// Keeps many concurrent callers busy over many resources against a routed
// storage driver, and records every call: its operation id, resource,
// start, end and outcome. Used by pitstop-bench (upgrade metrics) and by the
// upgrade integration test, which checks the calls against what the driver
// recorded.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"

namespace pitstop {

struct LoadOptions {
  std::shared_ptr<grpc::Channel> channel;  // to pitstopd
  std::string driver;                      // the pitstop-driver metadata
  int callers = 8;
  int resources = 50;  // volume/vol-0 ... volume/vol-(N-1)
  absl::Duration call_timeout = absl::Seconds(10);
  // Decimal text for the bag's work_ms property ("" = none sent).
  std::string work_ms;
  // "CreateVolume" (each call a new operation) or "GetStats" (read-only;
  // the volumes must exist).
  std::string method = "CreateVolume";
  // More of the bag, as string values (e.g. a driver's required settings).
  std::map<std::string, std::string> properties;
  // Callers as a management server riding out a restart of pitstopd would
  // be: they wait for the daemon to be ready, and a call that failed
  // UNAVAILABLE (its connection broke) is sent again with its operation id
  // (which the driver applies at most once) until call_timeout.
  bool retry_unavailable = false;
};

struct CallRecord {
  std::string operation_id;
  std::string resource;  // "volume/vol-7"
  absl::Time start;
  absl::Time end;
  bool ok = false;
  int attempts = 0;
  std::string error;  // "UNAVAILABLE: ..." when !ok
};

// Latency and failures of the calls that started in a window.
struct LoadSummary {
  int64_t calls = 0;
  int64_t failed = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::vector<std::string> first_errors;  // up to 5
};

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadOptions options);
  ~LoadGenerator();  // Stops.

  // Starts the callers; each calls CreateVolume in a loop, on resources
  // chosen round-robin with a per-caller offset, each call with a fresh
  // operation id.
  void Start();
  // Waits for every caller to finish its call in flight.
  void Stop();

  // Waits until at least `n` more calls have finished than when called, or
  // `timeout` passes; false on timeout.
  bool AwaitCalls(int64_t n, absl::Duration timeout);

  std::vector<CallRecord> Records() const ABSL_LOCKS_EXCLUDED(mu_);
  LoadSummary Summarize(absl::Time from, absl::Time to) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Caller(int index);
  grpc::Status CallOnce(pitstop::driver::v1::StorageService::Stub& stub,
                        grpc::ClientContext& context,
                        const pitstop::driver::v1::CallContext& ctx) const;

  const LoadOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;

  mutable absl::Mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pitstop

#endif  // PITSTOP_BENCH_LOAD_GENERATOR_H_
