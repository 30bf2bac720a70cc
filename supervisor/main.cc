// pitstopd: parses its flags, loads its configuration, and runs a Daemon
// until SIGTERM or SIGINT.

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/common/logging.h"
#include "supervisor/config/daemon_config.h"
#include "supervisor/config/daemon_flags.h"
#include "supervisor/daemon/daemon.h"
#include "supervisor/sandbox/host_sandbox.h"

namespace pitstop {
namespace {

int Fail(absl::string_view message) {
  LogError("pitstopd", message);
  return 1;
}

// --check-sandbox: 0 when every protection is available, 3 when some are
// missing.
int CheckSandbox() {
  std::string dir =
      (std::filesystem::temp_directory_path() / "pitstopd-check-XXXXXX")
          .string();
  if (::mkdtemp(dir.data()) == nullptr) {
    return Fail("cannot create a temporary directory");
  }
  const HostSandboxSupport host = DetectHostSandboxSupport(dir);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::cout << host.Summary() << "\n";
  for (const std::string& gap : host.Gaps()) {
    std::cout << "missing: " << gap << "\n";
  }
  return host.Gaps().empty() ? 0 : 3;
}

int Run(int argc, char** argv) {
  // Debian's Abseil is built with Mutex deadlock detection on, which records
  // a stack trace on every lock: a large share of a routed call's CPU time.
  // The thread-safety annotations, checked at compile time, do that job.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Nothing pitstopd writes is for other users unless it says so: the
  // socket (0660), the package tree drivers read (0755/0644) and the
  // directories above it (search only) get their modes explicitly
  // (docs/security.md, "Files").
  ::umask(077);
  CLI::App app{
      "pitstopd: runs drivers as sandboxed child processes and "
      "routes calls to them"};
  std::string config_path;
  DaemonFlags flags;
  bool print_config = false;
  bool check_sandbox = false;
  app.add_option("--config", config_path, "YAML configuration file")
      ->check(CLI::ExistingFile);
  app.add_option("--listen", flags.listen,
                 "address to serve on: unix:/PATH or HOST:PORT");
  app.add_option("--state-dir", flags.state_dir,
                 "directory for unpacked drivers, sockets and driver data");
  app.add_option("--drivers-dir", flags.drivers_dir,
                 "directory whose *.car files are loaded at start-up");
  app.add_option("--log-level", flags.log_level,
                 "debug, info, warning or error");
  app.add_option("--log-format", flags.log_format,
                 "logfmt or json (one object a line)");
  app.add_option("--trust-dir", flags.trust_dir,
                 "directory of trusted root certificates for CAR signatures");
  bool stop_drivers = false;
  app.add_flag("--stop-drivers", stop_drivers,
               "re-adopt the drivers an earlier pitstopd left running, stop "
               "them all, and exit (the package's removal runs this); serves "
               "no client meanwhile");
  app.add_flag("--leave-drivers-on-exit", flags.leave_drivers_on_exit,
               "at SIGTERM, exit with the drivers running for the next "
               "pitstopd to re-adopt (pitstopd.service does: a restart keeps "
               "them); otherwise they are stopped first");
  app.add_flag("--require-signed", flags.require_signed,
               "refuse CARs without a valid signature");
  app.add_option("--sandbox", flags.sandbox,
                 "driver sandbox: strict, best-effort or auto");
  bool take_over = false;
  app.add_flag("--take-over", take_over,
               "take over from the pitstopd serving the same state "
               "directory: its listening socket and its drivers, with no "
               "failed call (docs/operator-guide.md, upgrading Pitstop)");
  app.set_version_flag("--version", std::string("pitstopd ") + PITSTOP_VERSION);
  app.add_flag("--print-default-config", print_config,
               "print the embedded default configuration and exit");
  app.add_flag("--check-sandbox", check_sandbox,
               "print which driver protections this host allows and exit: "
               "0 when all of them, 3 when some are missing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (print_config) {
    std::cout << kDefaultDaemonConfig;
    return 0;
  }
  if (check_sandbox) return CheckSandbox();

  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (absl::Status s = ApplyDaemonFlags(flags, *config); !s.ok()) {
    return Fail(s.message());
  }
  SetMinLogLevel(config->log_level);
  SetLogFormat(config->log_format);
  // Under systemd with the journal on standard error: priorities it reads.
  SetSyslogPrefix(
      StreamIsJournal(std::getenv("JOURNAL_STREAM"), STDERR_FILENO));
  const bool leave_drivers = config->leave_drivers_on_exit && !stop_drivers;
  if (stop_drivers) {
    // Its own socket, in root's control directory: no client reaches a
    // daemon that is only there to stop.
    config->listen = "unix:" + (std::filesystem::path(config->state_dir) /
                                "control" / "stop-drivers.sock")
                                   .string();
  }

  // Signals are taken synchronously by sigwait below; every thread created
  // from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<Daemon>> daemon =
      Daemon::Create(*std::move(config), take_over);
  if (!daemon.ok()) return Fail(daemon.status().message());
  Daemon* d = daemon->get();
  // Lives until the process exits (a hand-over ends it without a signal).
  std::thread([d, signals] {
    int received = 0;
    sigwait(&signals, &received);
    LogInfo("pitstopd",
            absl::StrCat("received ", strsignal(received), "; stopping"));
    d->RequestStop();
  }).detach();
  d->Serve();
  if (stop_drivers) d->RequestStop();
  while (d->Wait() == Daemon::Ending::kHandOver) {
    if (d->HandOver()) return 0;
  }
  if (leave_drivers) {
    d->Detach();
  } else {
    d->Shutdown();
  }
  return 0;
}

}  // namespace
}  // namespace pitstop

int main(int argc, char** argv) { return pitstop::Run(argc, argv); }
