// libconf-a / libconf-b: test-only drivers that report the version of the
// libpitconf.so.1 they loaded from their own CAR's lib/ (RPATH
// $ORIGIN/../lib). GetCapabilities answers LIBPITCONF and LIBPATH (where
// the loader found it).

#include <dlfcn.h>

#include "absl/strings/str_cat.h"
#include "pitconf.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/sdk/driver.h"

namespace {

namespace v1 = ::pitstop::driver::v1;

class LibconfService final : public v1::StorageService::Service {
 public:
  grpc::Status GetCapabilities(
      grpc::ServerContext*, const v1::GetStorageCapabilitiesRequest*,
      v1::GetStorageCapabilitiesResponse* response) override {
    auto& caps = *response->mutable_capabilities();
    caps["LIBPITCONF"] = pitconf_version();
#if PITCONF_V2
    caps["V2_FEATURE"] = absl::StrCat(pitconf_v2_feature());
#endif
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&pitconf_version), &info) != 0 &&
        info.dli_fname != nullptr) {
      caps["LIBPATH"] = info.dli_fname;
    }
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  LibconfService service;
  return runtime.Serve({&service});
}
