// proxkvm-driver: the Proxkvm sample hypervisor driver's entrypoint.

#include "absl/strings/str_cat.h"
#include "pitstop/sdk/driver.h"
#include "proxkvm_service.h"

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  auto service = pitstop::proxkvm::ProxkvmService::Create(runtime.state_dir());
  if (!service.ok()) {
    pitstop::sdk::Log("error", absl::StrCat("cannot open the cluster state: ",
                                            service.status().ToString()));
    return 1;
  }
  return runtime.Serve({service->get()});
}
