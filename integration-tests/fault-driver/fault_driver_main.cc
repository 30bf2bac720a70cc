// fault-driver: a test-only storage driver that misbehaves on purpose, as
// its CAR's resources/fault.conf says (see fault_config.h). One binary,
// several CARs under integration-tests/fault-driver/cars/.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fault_config.h"
#include "fault_service.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "pitstop/sdk/driver.h"

namespace pitstop::fault {
namespace {

namespace v1 = ::pitstop::driver::v1;

// Where fault.conf is: $PITSTOP_FAULT_CONF (for running by hand), else the
// CAR's resources/ ($PITSTOP_DRIVER_ROOT, else beside the executable's bin/).
std::string ConfigPath() {
  if (const char* path = std::getenv("PITSTOP_FAULT_CONF")) return path;
  if (const char* root = std::getenv("PITSTOP_DRIVER_ROOT")) {
    return absl::StrCat(root, "/resources/fault.conf");
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<size_t>(n)) : ".";
  dir = dir.substr(0, dir.rfind('/'));
  return absl::StrCat(dir, "/../resources/fault.conf");
}

// A missing file means mode=normal.
absl::StatusOr<FaultConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    sdk::Log("warning", absl::StrCat("no fault configuration at ", path,
                                     "; behaving normally"));
    return FaultConfig();
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseFaultConfig(text.str(), path);
}

// Exits the process with `code` after `delay`, from another thread.
void ExitLater(absl::Duration delay, int code, std::string why) {
  std::thread([delay, code, why = std::move(why)] {
    absl::SleepFor(delay);
    sdk::Log("error", absl::StrCat(why, ": exiting with status ", code));
    _exit(code);
  }).detach();
}

// Every identity call blocks forever.
class HangingIdentity final : public v1::IdentityService::Service {
 public:
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*,
                       v1::GetInfoResponse*) override {
    BlockForever();
  }
  grpc::Status Probe(grpc::ServerContext*, const v1::ProbeRequest*,
                     v1::ProbeResponse*) override {
    BlockForever();
  }
};

// mode=hang: listens, answers nothing, ignores SIGTERM. Returns only if it
// cannot listen.
int ServeHanging(const std::string& socket_path) {
  HangingIdentity identity;
  FaultStorageService storage("hang", /*hang=*/true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path,
                           grpc::InsecureServerCredentials());
  builder.RegisterService(&identity);
  builder.RegisterService(&storage);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    sdk::Log("error", absl::StrCat("cannot listen on unix:", socket_path));
    return 1;
  }
  // SIGTERM and SIGINT stay blocked (DriverRuntime::FromArgs blocked them
  // before any thread existed) and are now ignored too: only SIGKILL ends
  // this process.
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  sdk::Log("info", absl::StrCat("mode=hang: listening on unix:", socket_path,
                                " and answering nothing, ever"));
  BlockForever();
}

int Run(int argc, char** argv) {
  auto runtime = sdk::DriverRuntime::FromArgs(argc, argv);
  const std::string path = ConfigPath();
  absl::StatusOr<FaultConfig> config = LoadConfig(path);
  if (!config.ok()) {
    sdk::Log("error", config.status().ToString());
    return 2;
  }
  sdk::Log("info", absl::StrCat("fault mode ", config->mode_text));
  const absl::Duration ms = absl::Milliseconds(config->ms);
  switch (config->mode) {
    case FaultMode::kNormal:
    case FaultMode::kSloppy:
      break;
    case FaultMode::kCrashOnStart:
      sdk::Log("error", "mode=crash_on_start: exiting with status 3");
      return 3;
    case FaultMode::kCrashAfter:
      ExitLater(ms, 3, absl::StrCat("mode=", config->mode_text));
      break;
    case FaultMode::kExitCode:
      if (config->ms == 0) {
        sdk::Log("error",
                 absl::StrCat("mode=", config->mode_text,
                              ": exiting with status ", config->exit_code));
        return config->exit_code;
      }
      ExitLater(ms, config->exit_code,
                absl::StrCat("mode=", config->mode_text));
      break;
    case FaultMode::kNeverReady:
      runtime.SetReady(false,
                       "fault-driver mode=never_ready: this driver never "
                       "becomes ready");
      break;
    case FaultMode::kSlowStart: {
      runtime.SetReady(false, absl::StrCat("fault-driver warming up: ready ",
                                           config->ms, " ms after start"));
      sdk::DriverRuntime* r = &runtime;
      // `runtime` outlives the thread's use of it: Serve runs until SIGTERM,
      // and the process exits right after.
      std::thread([r, ms] {
        absl::SleepFor(ms);
        sdk::Log("info", "mode=slow_start: now ready");
        r->SetReady(true);
      }).detach();
      break;
    }
    case FaultMode::kHang:
      return ServeHanging(runtime.socket_path());
    case FaultMode::kBadExit: {
      FaultStorageService service(config->mode_text, /*hang=*/false);
      const int rc = runtime.Serve({&service});
      sdk::Log("error", "mode=bad_exit: stopping with status 1");
      return rc == 0 ? 1 : rc;
    }
  }
  FaultStorageService service(config->mode_text, /*hang=*/false);
  return runtime.Serve({&service});
}

}  // namespace
}  // namespace pitstop::fault

int main(int argc, char** argv) { return pitstop::fault::Run(argc, argv); }
