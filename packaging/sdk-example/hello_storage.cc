// hello-storage: a storage driver in one file. GetCapabilities answers
// with who it is; every other operation is UNIMPLEMENTED.

#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/sdk/driver.h"

namespace {

class HelloStorage final : public pitstop::driver::v1::StorageService::Service {
 public:
  grpc::Status GetCapabilities(
      grpc::ServerContext*,
      const pitstop::driver::v1::GetStorageCapabilitiesRequest*,
      pitstop::driver::v1::GetStorageCapabilitiesResponse* response) override {
    (*response->mutable_capabilities())["HELLO"] = "built out of tree";
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  HelloStorage service;
  return runtime.Serve({&service});
}
