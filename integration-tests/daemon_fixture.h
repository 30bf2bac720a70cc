#ifndef PITSTOP_INTEGRATION_TESTS_DAEMON_FIXTURE_H_
#define PITSTOP_INTEGRATION_TESTS_DAEMON_FIXTURE_H_

// Runs the real pitstopd in a fresh temporary directory with the real CARs,
// and gives tests gRPC stubs for it. Waits on events with deadlines.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/cli/client_channel.h"
#include "supervisor/sandbox/child_process_manager.h"
#include "supervisor/sandbox/host_sandbox.h"

namespace pitstop {

struct DaemonSpec {
  // The drivers directory.
  std::string cars_dir = PITSTOP_CARS_DIR;
  // A configuration file's content, when not empty.
  std::string config_yaml;
  // Wait until this driver is READY ("": do not wait).
  std::string await_ready = "flashpool";
  // Run in this directory, which the test owns and which keeps the state
  // across daemons; empty: a fresh directory removed with the daemon.
  std::string dir;
  // --listen; empty: unix:<dir>/pitstopd.sock. A host:port address with
  // port 0 is read back from the daemon's "serving" log line.
  std::string listen;
  // --sandbox; empty: the daemon's default (strict as root) where this host
  // allows the whole sandbox, best-effort where it does not (a container).
  std::string sandbox;
  // More of pitstopd's flags (e.g. --take-over).
  std::vector<std::string> extra_args;
  // More of its environment ("NOTIFY_SOCKET=..."), besides PATH.
  std::vector<std::string> env;
  // A program that runs pitstopd, and its arguments before pitstopd's path
  // (e.g. systemd-socket-activate -l PATH).
  std::vector<std::string> wrapper;
  // The fixture's channel and Cli connect with this TLS (a daemon on TCP
  // with tls_* keys).
  ClientTls client_tls;
};

// What this host allows the daemon's sandbox (detected once), and whether
// that is everything (then tests expect every protection in force).
const HostSandboxSupport& TestHostSandbox();
bool FullSandboxOnThisHost();

// What a command run to completion gave (RunCommand, Daemon::Cli).
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class Daemon {
 public:
  // Starts pitstopd on the sample CARs and waits until flashpool is READY
  // (or fails the test after 30 seconds, printing the daemon's log).
  Daemon() : Daemon(DaemonSpec{}) {}
  explicit Daemon(DaemonSpec spec);
  // Stops the daemon if it still runs, removes a directory it created.
  ~Daemon();

  // SIGKILL, as a crash would; waits for the exit.
  void Kill();
  // The pitstop CLI against this daemon: `pitstop --address ADDRESS args...`
  // (with the spec's --tls-* flags).
  CommandResult Cli(std::vector<std::string> args,
                    absl::Duration timeout = absl::Seconds(30)) const;
  // Waits until a line of the daemon's log contains `text`; false after
  // `timeout`.
  bool AwaitLog(const std::string& text, absl::Duration timeout);
  // Waits until the daemon exits by itself; false after `timeout`.
  bool AwaitExit(absl::Duration timeout, ExitInfo* exit);

  const std::string& dir() const { return dir_; }
  // The address clients use.
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  pitstop::supervisor::v1::AdminService::Stub& admin() { return *admin_; }
  pitstop::driver::v1::StorageService::Stub& storage() { return *storage_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }

  // A context for a routed call to `driver` with a deadline.
  std::unique_ptr<grpc::ClientContext> Routed(
      const std::string& driver, absl::Duration timeout = absl::Seconds(10));

  pitstop::supervisor::v1::Driver GetDriver(const std::string& name);

  // Waits until `name` is READY with a pid other than `not_pid`.
  pitstop::supervisor::v1::Driver AwaitReady(
      const std::string& name, int not_pid = 0,
      absl::Duration timeout = absl::Seconds(20));

  // SIGTERM; waits for the exit; returns the exit status.
  ExitInfo Terminate(absl::Duration timeout = absl::Seconds(30));

  // Everything the daemon wrote to stderr so far.
  std::string Log();

 private:
  std::string dir_;
  bool own_dir_ = true;
  std::string socket_;
  std::string address_;
  ClientTls client_tls_;
  ChildProcessManager launcher_;
  pid_t pid_ = 0;
  absl::Mutex mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  ExitInfo exit_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pitstop::supervisor::v1::AdminService::Stub> admin_;
  std::unique_ptr<pitstop::driver::v1::StorageService::Stub> storage_;
};

// The property bag flashpool requires.
void AddFlashpoolProperties(pitstop::driver::v1::CallContext* context);

// Polls the daemon's own state of `name` until `done` holds, and returns
// it; fails the test after `timeout`, printing the last state and the
// daemon's log.
pitstop::supervisor::v1::Driver AwaitDriver(
    Daemon& daemon, const std::string& name,
    const std::function<bool(const pitstop::supervisor::v1::Driver&)>& done,
    absl::Duration timeout = absl::Seconds(60));

// A new directory under the temporary directory, named `prefix`-XXXXXX.
std::string MakeTempDir(const char* prefix);

// Keepers need a PID namespace per driver; on a host that refuses them (a
// container) drivers run without keepers: false then, with a warning that
// the test did not run.
bool KeepersOnThisHost();

// pitstopd on the recorder test driver (version 1.0.0) in `dir`. Its
// drivers directory is shared with other tests: a test that installs or
// upgrades uses RecorderCopyIn.
DaemonSpec RecorderIn(const std::string& dir);
// The same, on a drivers directory of its own (<dir>/cars, made here).
DaemonSpec RecorderCopyIn(const std::string& dir);
// One CreateVolume routed to `driver` (a recorder) on resource volume/`op`
// with operation id `op`; the code it ended with.
grpc::StatusCode RecorderCreate(Daemon& d, const std::string& driver,
                                const std::string& op);
// GET `path` from "127.0.0.1:PORT" over HTTP/1.1 (Connection: close), with
// `host` as the Host header ("": the address, as a browser sends it); the
// whole answer, headers too, or "" when nothing listens there.
std::string TryHttpGet(const std::string& address, const std::string& path,
                       const std::string& host = "");
// The same; fails the test when nothing listens.
std::string HttpGet(const std::string& address, const std::string& path);
// The metrics listener's address, from the daemon's "serving metrics" log
// line (metrics_listen: 127.0.0.1:0 picks the port).
std::string MetricsAddress(Daemon& daemon);

// The recorder CAR of version `major`.0.0 (1, 2 or 3).
std::string RecorderCar(int major);

// Kills, when it goes out of scope, every keeper recorded under
// <dir>/state/keepers whose process still is the recorded one: a test that
// kills pitstopd leaves no driver running on the machine, even when it fails
// before a new daemon takes the drivers back (keepers outlive daemons).
class KeeperReaper {
 public:
  explicit KeeperReaper(std::string dir) : dir_(std::move(dir)) {}
  ~KeeperReaper();
  KeeperReaper(const KeeperReaper&) = delete;
  KeeperReaper& operator=(const KeeperReaper&) = delete;

 private:
  const std::string dir_;
};

// SIGSTOP, then waits until every thread of `pid` has stopped; false after
// `timeout`.
bool StopProcess(int pid, absl::Duration timeout = absl::Seconds(5));

// Waits until none of `pids` is alive; false after `timeout`.
bool AwaitProcessesGone(const std::vector<int>& pids, absl::Duration timeout);

// A program running beside the test (a Prometheus, a browser), its output
// kept; killed (SIGKILL) and waited for when the object goes.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::string& path, std::vector<std::string> args);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() ABSL_LOCKS_EXCLUDED(mu_);
  // Its standard output and error so far (the last 64 KiB).
  std::string Output() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ChildProcessManager launcher_;
  pid_t pid_ = 0;
  absl::Mutex mu_;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  std::string output_ ABSL_GUARDED_BY(mu_);
};

// Runs a command to completion; returns its exit code and standard output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(30));

}  // namespace pitstop

#endif  // PITSTOP_INTEGRATION_TESTS_DAEMON_FIXTURE_H_
