// bench-driver: the smallest storage driver, for measuring the daemon's own
// cost. GetCapabilities answers at once; every other operation is
// UNIMPLEMENTED.

#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/sdk/driver.h"

namespace {

class EchoStorage final : public pitstop::driver::v1::StorageService::Service {
 public:
  grpc::Status GetCapabilities(
      grpc::ServerContext*,
      const pitstop::driver::v1::GetStorageCapabilitiesRequest*,
      pitstop::driver::v1::GetStorageCapabilitiesResponse* response) override {
    (*response->mutable_capabilities())["BENCH"] = "true";
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  EchoStorage service;
  return runtime.Serve({&service});
}
