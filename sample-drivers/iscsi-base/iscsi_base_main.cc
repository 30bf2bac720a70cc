// iscsi-base-driver: the iscsi-base sample storage library driver's
// entrypoint.

#include "iscsi_base_service.h"
#include "pitstop/sdk/driver.h"

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  pitstop::iscsi_base::IscsiBaseService service;
  return runtime.Serve({&service});
}
