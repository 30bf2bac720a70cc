// flashpool-driver: the Flashpool sample storage driver's entrypoint.

#include "absl/strings/str_cat.h"
#include "flashpool_service.h"
#include "pitstop/sdk/driver.h"

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  auto service =
      pitstop::flashpool::FlashpoolService::Create(runtime.state_dir());
  if (!service.ok()) {
    pitstop::sdk::Log("error", absl::StrCat("cannot open the array state: ",
                                            service.status().ToString()));
    return 1;
  }
  return runtime.Serve({service->get()});
}
