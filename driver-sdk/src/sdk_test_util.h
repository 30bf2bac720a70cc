#ifndef PITSTOP_SDK_SRC_SDK_TEST_UTIL_H_
#define PITSTOP_SDK_SRC_SDK_TEST_UTIL_H_

// Helpers for the SDK's own tests: temporary directories, gRPC clients on a
// Unix socket, and child processes waited on with deadlines.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "pitstop/sdk/testing/temp_dir.h"

namespace pitstop::sdk::testing {

void WriteFile(const std::string& path, const std::string& contents);
std::string ReadFile(const std::string& path);

// A channel to unix:`socket_path` that retries connecting quickly (tens of
// milliseconds), so wait_for_ready calls notice a new server promptly.
std::shared_ptr<grpc::Channel> UnixChannel(const std::string& socket_path);

// Calls grpc.health.v1.Health/Check for the empty service name. Returns the
// ServingStatus number (1 SERVING, 2 NOT_SERVING) or nullopt on RPC error.
std::optional<int> HealthCheck(grpc::Channel& channel, absl::Duration timeout);

// A child process started with posix_spawn, its standard error captured in a
// file. Killed (SIGKILL) and reaped on destruction if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv,
               const std::vector<std::string>& extra_env,
               const std::string& stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits up to `timeout` for the child to exit; returns its wait status,
  // or nullopt if it is still running.
  std::optional<int> WaitForExit(absl::Duration timeout);

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
};

}  // namespace pitstop::sdk::testing

#endif  // PITSTOP_SDK_SRC_SDK_TEST_UTIL_H_
