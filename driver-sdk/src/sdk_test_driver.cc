// A minimal storage driver for the SDK's process-level tests. Its
// GetCapabilities answers {"state_dir": <its state dir>} so a test can see
// what DriverRuntime chose. Environment switches:
//   SDK_TEST_SIGTERM_BEFORE_SERVE=1  raise SIGTERM before calling Serve
//   SDK_TEST_NOT_READY=1             SetReady(false, "warming up") first

#include <signal.h>

#include <cstdlib>

#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/sdk/driver.h"

namespace {

class StateDirService final
    : public pitstop::driver::v1::StorageService::Service {
 public:
  explicit StateDirService(std::string state_dir)
      : state_dir_(std::move(state_dir)) {}

  grpc::Status GetCapabilities(
      grpc::ServerContext*,
      const pitstop::driver::v1::GetStorageCapabilitiesRequest*,
      pitstop::driver::v1::GetStorageCapabilitiesResponse* response) override {
    (*response->mutable_capabilities())["state_dir"] = state_dir_;
    return grpc::Status::OK;
  }

 private:
  const std::string state_dir_;
};

}  // namespace

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  if (std::getenv("SDK_TEST_NOT_READY") != nullptr) {
    runtime.SetReady(false, "warming up");
  }
  if (std::getenv("SDK_TEST_SIGTERM_BEFORE_SERVE") != nullptr) {
    raise(SIGTERM);
  }
  StateDirService service(runtime.state_dir());
  return runtime.Serve({&service});
}
