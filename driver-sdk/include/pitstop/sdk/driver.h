#ifndef PITSTOP_SDK_DRIVER_H_
#define PITSTOP_SDK_DRIVER_H_

// The C++ driver SDK: everything a driver's main() needs to honour the
// driver process contract (docs/protocol.md).
//
//   int main(int argc, char** argv) {
//     auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
//     MyStorageService service(runtime.state_dir());
//     return runtime.Serve({&service});
//   }
//
// The contract, as the SDK implements it: serve gRPC on the Unix socket named
// by $PITSTOP_SOCKET; answer IdentityService (from driver.yaml) and
// grpc.health.v1 beside the category service; be ready when Probe says so;
// on SIGTERM stop gracefully within driver.yaml's `timeouts.stop`; log on
// standard error.

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/impl/service_type.h"
#include "pitstop/sdk/driver_info.h"
#include "pitstop/sdk/driver_server.h"
#include "pitstop/sdk/log.h"

namespace pitstop::sdk {

// One per process. Movable, not copyable. Not thread-safe except SetReady.
class DriverRuntime {
 public:
  // Call first thing in main(), before any thread is created: it blocks
  // SIGTERM and SIGINT in the calling thread (so threads created later
  // inherit the mask and Serve can sigwait for them; a signal arriving
  // before Serve stays pending and makes Serve stop at once).
  //
  // Flags (`--flag value` or `--flag=value`):
  //   --listen unix:PATH  serve on PATH (standalone mode); otherwise
  //                       $PITSTOP_SOCKET names the socket path.
  //   --manifest PATH     driver.yaml; default
  //                       $PITSTOP_DRIVER_ROOT/META-INF/driver.yaml, else
  //                       <dir of /proc/self/exe>/../META-INF/driver.yaml.
  //   --state-dir DIR     where the driver keeps state (created if missing);
  //                       default $PITSTOP_STATE_DIR, else a new directory
  //                       under /tmp (logged).
  //   --help              prints usage and exits 0.
  // On bad usage (unknown flag, missing value, no socket, unreadable or
  // invalid driver.yaml, unusable state dir) prints an error naming the flag
  // or file on standard error and exits with status 2.
  static DriverRuntime FromArgs(int argc, char** argv);

  DriverRuntime(DriverRuntime&&) = default;
  DriverRuntime& operator=(DriverRuntime&&) = default;

  const std::string& state_dir() const { return state_dir_; }
  const std::string& socket_path() const { return socket_path_; }
  const DriverInfo& info() const { return server_->info(); }

  // Marks the driver ready or not for IdentityService.Probe and health.
  // Default: ready once Serve() listens. Thread-safe; may be called before
  // or during Serve().
  void SetReady(bool ready, std::string message = "");

  // Serves identity, health and `services` (not owned; they must outlive
  // the call) on the socket, and blocks until SIGTERM or SIGINT. Then shuts
  // down gracefully: stops accepting calls and lets in-flight calls finish
  // within driver.yaml's `timeouts.stop` minus a margin (so the daemon never
  // needs SIGKILL), and returns 0. Returns 1, after logging why, if it
  // cannot listen. Call at most once.
  int Serve(std::vector<grpc::Service*> services);

 private:
  DriverRuntime() = default;

  std::string state_dir_;
  std::string socket_path_;
  std::unique_ptr<DriverServer> server_;
};

// How long Serve() lets in-flight calls run after SIGTERM, for a driver.yaml
// stop timeout: the timeout minus a margin of a tenth, at least 100ms and at
// most 1s, so the process exits before the daemon's SIGKILL.
absl::Duration GracePeriodForStopTimeout(absl::Duration stop_timeout);

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_DRIVER_H_
