// nvpnet-driver: the Nvpnet sample network driver's entrypoint.

#include "absl/strings/str_cat.h"
#include "nvpnet_service.h"
#include "pitstop/sdk/driver.h"

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  auto service = pitstop::nvpnet::NvpnetService::Create(runtime.state_dir());
  if (!service.ok()) {
    pitstop::sdk::Log("error",
                      absl::StrCat("cannot open the controller state: ",
                                   service.status().ToString()));
    return 1;
  }
  return runtime.Serve({service->get()});
}
