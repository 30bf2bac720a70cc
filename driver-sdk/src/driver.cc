#include "pitstop/sdk/driver.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

namespace pitstop::sdk {
namespace {

constexpr char kUsage[] =
    "usage: %s [--listen unix:PATH] [--manifest PATH] [--state-dir DIR]\n"
    "  --listen unix:PATH  serve on PATH (default: $PITSTOP_SOCKET)\n"
    "  --manifest PATH     driver.yaml (default: "
    "$PITSTOP_DRIVER_ROOT/META-INF/driver.yaml,\n"
    "                      else <dir of the executable>/../META-INF/"
    "driver.yaml)\n"
    "  --state-dir DIR     driver state (default: $PITSTOP_STATE_DIR, else a "
    "new directory under /tmp)\n";

std::string Program(int argc, char** argv) {
  return argc > 0 && argv[0] != nullptr ? argv[0] : "driver";
}

[[noreturn]] void UsageError(const std::string& program,
                             absl::string_view message) {
  Log("error", message);
  std::fprintf(stderr, kUsage, program.c_str());
  std::exit(2);
}

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string DefaultManifestPath() {
  if (std::string root = Getenv("PITSTOP_DRIVER_ROOT"); !root.empty()) {
    return absl::StrCat(root, "/META-INF/driver.yaml");
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  std::string dir = ".";
  if (n > 0) {
    std::string path(exe, static_cast<size_t>(n));
    size_t slash = path.rfind('/');
    if (slash != std::string::npos) dir = path.substr(0, slash);
  }
  return absl::StrCat(dir, "/../META-INF/driver.yaml");
}

// mkdir -p with mode 0700 for the directories it creates.
bool MakeDirs(const std::string& dir, std::string* error) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      *error =
          absl::StrCat("cannot create ", prefix, ": ", std::strerror(errno));
      return false;
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = absl::StrCat(dir, " is not a directory");
    return false;
  }
  return true;
}

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::Duration GracePeriodForStopTimeout(absl::Duration stop_timeout) {
  const absl::Duration margin =
      std::clamp(stop_timeout / 10, absl::Milliseconds(100), absl::Seconds(1));
  if (stop_timeout > 2 * margin) return stop_timeout - margin;
  return stop_timeout / 2;
}

DriverRuntime DriverRuntime::FromArgs(int argc, char** argv) {
  // Debian's Abseil records a stack trace on every Mutex lock to detect
  // deadlocks; that is a large share of a small call's CPU time.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Before anything can start a thread: every thread inherits this mask, so
  // the stop signals stay pending until Serve() sigwaits for them.
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string program = Program(argc, argv);
  std::string listen, manifest, state_dir;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(kUsage, program.c_str());
      std::exit(0);
    }
    std::string* target = nullptr;
    absl::string_view flag = arg.substr(0, arg.find('='));
    if (flag == "--listen") {
      target = &listen;
    } else if (flag == "--manifest") {
      target = &manifest;
    } else if (flag == "--state-dir") {
      target = &state_dir;
    } else {
      UsageError(program, absl::StrCat("unknown flag '", arg, "'"));
    }
    if (flag.size() < arg.size()) {
      *target = std::string(arg.substr(flag.size() + 1));
    } else if (i + 1 < argc) {
      *target = argv[++i];
    } else {
      UsageError(program, absl::StrCat("flag ", flag, " needs a value"));
    }
    if (target->empty()) {
      UsageError(program,
                 absl::StrCat("flag ", flag, " needs a non-empty value"));
    }
  }

  DriverRuntime runtime;
  if (!listen.empty()) {
    absl::string_view path = listen;
    if (!absl::ConsumePrefix(&path, "unix://") &&
        !absl::ConsumePrefix(&path, "unix:")) {
      UsageError(program, absl::StrCat("--listen must be unix:PATH (got '",
                                       listen, "')"));
    }
    if (path.empty()) {
      UsageError(program, "--listen unix:PATH needs a socket path");
    }
    runtime.socket_path_ = std::string(path);
  } else {
    runtime.socket_path_ = Getenv("PITSTOP_SOCKET");
    if (runtime.socket_path_.empty()) {
      UsageError(program,
                 "no socket to serve on: PITSTOP_SOCKET is not set (the daemon "
                 "sets it); to run standalone pass --listen unix:PATH");
    }
  }

  if (manifest.empty()) manifest = DefaultManifestPath();
  absl::StatusOr<DriverInfo> info = LoadDriverInfo(manifest);
  if (!info.ok()) {
    UsageError(program, absl::StrCat("--manifest: ", info.status().message()));
  }

  const char* state_flag = "--state-dir";
  if (state_dir.empty()) {
    state_dir = Getenv("PITSTOP_STATE_DIR");
    state_flag = "PITSTOP_STATE_DIR";
  }
  std::string error;
  if (!state_dir.empty()) {
    if (!MakeDirs(state_dir, &error)) {
      UsageError(program, absl::StrCat(state_flag, ": ", error));
    }
  } else {
    std::string templ = absl::StrCat("/tmp/pitstop-", info->name, "-XXXXXX");
    if (mkdtemp(templ.data()) == nullptr) {
      UsageError(program,
                 absl::StrCat("cannot create a state directory under "
                              "/tmp (",
                              std::strerror(errno), "); pass --state-dir DIR"));
    }
    state_dir = templ;
    Log("info", absl::StrCat("no --state-dir or PITSTOP_STATE_DIR: keeping "
                             "state in ",
                             state_dir));
  }
  runtime.state_dir_ = std::move(state_dir);
  runtime.server_ = std::make_unique<DriverServer>(*std::move(info));
  return runtime;
}

void DriverRuntime::SetReady(bool ready, std::string message) {
  server_->SetReady(ready, std::move(message));
}

int DriverRuntime::Serve(std::vector<grpc::Service*> services) {
  const sigset_t stop_signals = StopSignals();
  // Normally already blocked by FromArgs; blocking again is harmless and
  // keeps sigwait correct if Serve runs on another thread.
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const DriverInfo& driver = info();
  if (absl::Status status = server_->Start(socket_path_, services);
      !status.ok()) {
    Log("error", absl::StrCat("driver ", driver.name, " ", driver.version,
                              " cannot serve: ", status.message()));
    return 1;
  }
  Log("info", absl::StrCat("driver ", driver.name, " ", driver.version,
                           " serving on unix:", socket_path_));

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  const absl::Duration grace = GracePeriodForStopTimeout(driver.stop_timeout);
  Log("info", absl::StrCat("received ", strsignal(signal_number),
                           ": stopping; in-flight calls have ",
                           absl::FormatDuration(grace), " to finish"));
  server_->Shutdown(grace);
  Log("info", absl::StrCat("driver ", driver.name, " stopped"));
  return 0;
}

}  // namespace pitstop::sdk
