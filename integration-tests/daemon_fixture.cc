#include "integration-tests/daemon_fixture.h"

#include <arpa/inet.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "supervisor/sandbox/keeper_record.h"

namespace pitstop {

namespace fs = std::filesystem;
namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

const HostSandboxSupport& TestHostSandbox() {
  static const HostSandboxSupport* support = [] {
    std::string t =
        (fs::temp_directory_path() / "pitstop-probe-XXXXXX").string();
    const std::string dir = ::mkdtemp(t.data());
    auto* s = new HostSandboxSupport(DetectHostSandboxSupport(dir));
    std::error_code ec;
    fs::remove_all(dir, ec);
    return s;
  }();
  return *support;
}

bool FullSandboxOnThisHost() {
  const HostSandboxSupport& h = TestHostSandbox();
  return h.root && h.namespaces && h.seccomp &&
         h.cgroups.version != CgroupVersion::kNone;
}

Daemon::Daemon(DaemonSpec spec) {
  if (spec.dir.empty()) {
    std::string t = (fs::temp_directory_path() / "pitstop-it-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
  } else {
    dir_ = spec.dir;
    own_dir_ = false;
  }
  socket_ = dir_ + "/pitstopd.sock";
  address_ = spec.listen.empty() ? "unix:" + socket_ : spec.listen;
  client_tls_ = spec.client_tls;
  std::vector<std::string> args = {"--listen",      address_,
                                   "--state-dir",   dir_ + "/state",
                                   "--drivers-dir", spec.cars_dir};
  if (spec.sandbox.empty() && !FullSandboxOnThisHost()) {
    spec.sandbox = "best-effort";
  }
  if (!spec.sandbox.empty()) {
    args.push_back("--sandbox");
    args.push_back(spec.sandbox);
  }
  args.insert(args.end(), spec.extra_args.begin(), spec.extra_args.end());
  if (!spec.config_yaml.empty()) {
    std::ofstream(dir_ + "/pitstopd.yaml") << spec.config_yaml;
    args.push_back("--config");
    args.push_back(dir_ + "/pitstopd.yaml");
  }
  std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
  env.insert(env.end(), spec.env.begin(), spec.env.end());
  std::string executable = PITSTOPD_PATH;
  if (!spec.wrapper.empty()) {
    executable = spec.wrapper.front();
    std::vector<std::string> wrapped(spec.wrapper.begin() + 1,
                                     spec.wrapper.end());
    wrapped.push_back(PITSTOPD_PATH);
    wrapped.insert(wrapped.end(), args.begin(), args.end());
    args = std::move(wrapped);
  }
  auto pid = launcher_.Launch(
      LaunchSpec{executable, args, env, dir_, {}},
      [this](OutputStream, absl::string_view line) {
        absl::MutexLock lock(&mu_);
        log_.emplace_back(line);
      },
      [this](const ExitInfo& e) {
        absl::MutexLock lock(&mu_);
        exited_ = true;
        exit_ = e;
      });
  REQUIRE(pid.ok());
  pid_ = *pid;
  if (absl::EndsWith(address_, ":0")) {
    // The daemon logs the port it picked: address=127.0.0.1:40123.
    absl::MutexLock lock(&mu_);
    auto serving = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const std::string& line : log_) {
        if (line.find("msg=serving") != std::string::npos) return true;
      }
      return exited_;
    };
    REQUIRE(mu_.AwaitWithTimeout(absl::Condition(&serving), absl::Seconds(30)));
    for (const std::string& line : log_) {
      const size_t at = line.find(" address=");
      if (line.find("msg=serving") == std::string::npos ||
          at == std::string::npos) {
        continue;
      }
      const size_t start = at + 9;
      address_ = line.substr(start, line.find(' ', start) - start);
    }
    INFO(absl::StrJoin(log_, "\n"));
    REQUIRE(!absl::EndsWith(address_, ":0"));
  }
  channel_ = MakeClientChannel(address_, client_tls_);
  admin_ = sv1::AdminService::NewStub(channel_);
  storage_ = dv1::StorageService::NewStub(channel_);
  if (!spec.await_ready.empty()) {
    AwaitReady(spec.await_ready, 0, absl::Seconds(30));
  }
}

void Daemon::Kill() {
  (void)launcher_.Signal(pid_, SIGKILL);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&exited_));
}

Daemon::~Daemon() {
  bool exited;
  {
    absl::MutexLock lock(&mu_);
    exited = exited_;
  }
  if (!exited) Terminate();
  std::error_code ec;
  if (own_dir_) fs::remove_all(dir_, ec);
}

std::unique_ptr<grpc::ClientContext> Daemon::Routed(const std::string& driver,
                                                    absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("pitstop-driver", driver);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

sv1::Driver Daemon::GetDriver(const std::string& name) {
  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);  // the daemon may still be starting
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  sv1::GetDriverRequest req;
  req.set_name(name);
  sv1::Driver d;
  grpc::Status s = admin_->GetDriver(&ctx, req, &d);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return d;
}

sv1::Driver Daemon::AwaitReady(const std::string& name, int not_pid,
                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sv1::Driver last;
  std::string last_error;
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mu_);
      if (exited_) break;
    }
    grpc::ClientContext ctx;
    // Wait for the daemon's socket rather than fail fast while it starts.
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(absl::ToChronoTime(deadline));
    sv1::GetDriverRequest req;
    req.set_name(name);
    grpc::Status s = admin_->GetDriver(&ctx, req, &last);
    if (s.ok() && last.state() == sv1::DRIVER_STATE_READY &&
        last.pid() != not_pid) {
      return last;
    }
    last_error = s.error_message();
    // Polls the daemon's own state; the daemon does the waiting on events.
    absl::SleepFor(absl::Milliseconds(10));
  }
  INFO("daemon log:\n" << Log());
  INFO("last state: " << last.ShortDebugString() << " " << last_error);
  FAIL("driver " << name << " did not become READY in time");
  return last;
}

ExitInfo Daemon::Terminate(absl::Duration timeout) {
  (void)launcher_.Signal(pid_, SIGTERM);
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&exited_), timeout)) {
    (void)launcher_.Signal(pid_, SIGKILL);
    mu_.Await(absl::Condition(&exited_));
  }
  return exit_;
}

CommandResult Daemon::Cli(std::vector<std::string> args,
                          absl::Duration timeout) const {
  std::vector<std::string> argv = {PITSTOP_CLI_PATH, "--address", address_};
  for (const auto& [flag, file] : {std::pair{"--tls-ca", client_tls_.ca},
                                   std::pair{"--tls-cert", client_tls_.cert},
                                   std::pair{"--tls-key", client_tls_.key}}) {
    if (!file.empty()) argv.insert(argv.end(), {flag, file});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

bool Daemon::AwaitLog(const std::string& text, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto logged = [this, &text]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&logged), timeout);
}

std::string MakeTempDir(const char* prefix) {
  std::string t = (fs::temp_directory_path() / prefix).string() + "-XXXXXX";
  return ::mkdtemp(t.data());
}

bool KeepersOnThisHost() {
  if (FullSandboxOnThisHost()) return true;
  WARN("not run: keepers need PID namespaces, which this host refuses");
  return false;
}

DaemonSpec RecorderIn(const std::string& dir) {
  DaemonSpec spec;
  spec.cars_dir = std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-1";
  spec.await_ready = "recorder";
  spec.dir = dir;
  return spec;
}

BackgroundProcess::BackgroundProcess(const std::string& path,
                                     std::vector<std::string> args) {
  absl::StatusOr<pid_t> pid = launcher_.Launch(
      LaunchSpec{path, std::move(args), {"PATH=/usr/bin:/bin"}, "/", {}},
      [this](OutputStream, absl::string_view line) {
        absl::MutexLock lock(&mu_);
        absl::StrAppend(&output_, line, "\n");
        if (output_.size() > 65536) output_.erase(0, output_.size() - 65536);
      },
      [this](const ExitInfo&) {
        absl::MutexLock lock(&mu_);
        exited_ = true;
      });
  if (!pid.ok()) FAIL(path << ": " << pid.status());
  pid_ = *pid;
}

BackgroundProcess::~BackgroundProcess() {
  (void)launcher_.Signal(pid_, SIGKILL);
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&exited_));
}

bool BackgroundProcess::exited() {
  absl::MutexLock lock(&mu_);
  return exited_;
}

std::string BackgroundProcess::Output() {
  absl::MutexLock lock(&mu_);
  return output_;
}

grpc::StatusCode RecorderCreate(Daemon& d, const std::string& driver,
                                const std::string& op) {
  dv1::CreateVolumeRequest req;
  auto* ctx = req.mutable_context();
  ctx->mutable_resource()->set_type("volume");
  ctx->mutable_resource()->set_id(op);
  ctx->set_operation_id(op);
  dv1::CreateVolumeResponse resp;
  auto context = d.Routed(driver);
  return d.storage().CreateVolume(context.get(), req, &resp).error_code();
}

// GET `path` from "127.0.0.1:PORT" over HTTP/1.1; the whole answer, or ""
// when nothing listens there.
std::string TryHttpGet(const std::string& address, const std::string& path,
                       const std::string& host) {
  int port = 0;
  REQUIRE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: " + (host.empty() ? address : host) +
      "\r\nConnection: close\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[16384];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, n);
  ::close(fd);
  return answer;
}

std::string HttpGet(const std::string& address, const std::string& path) {
  std::string answer = TryHttpGet(address, path);
  REQUIRE(!answer.empty());
  return answer;
}

// The metrics address from the daemon's "serving metrics" log line.
std::string MetricsAddress(Daemon& daemon) {
  REQUIRE(daemon.AwaitLog("msg=\"serving metrics\"", absl::Seconds(10)));
  const std::string log = daemon.Log();
  const size_t at = log.find("metrics_address=");
  REQUIRE(at != std::string::npos);
  const size_t start = at + 16;
  return log.substr(start, log.find_first_of(" \n", start) - start);
}

std::string RecorderCar(int major) {
  return absl::StrCat(PITSTOP_TEST_CARS_DIR, "/recorder-", major, "/recorder-",
                      major, ".car");
}

DaemonSpec RecorderCopyIn(const std::string& dir) {
  DaemonSpec spec = RecorderIn(dir);
  spec.cars_dir = dir + "/cars";
  std::filesystem::create_directories(spec.cars_dir);
  std::filesystem::copy_file(RecorderCar(1),
                             spec.cars_dir + "/recorder-1.0.0.car");
  return spec;
}

bool Daemon::AwaitExit(absl::Duration timeout, ExitInfo* exit) {
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&exited_), timeout)) return false;
  *exit = exit_;
  return true;
}

std::string Daemon::Log() {
  absl::MutexLock lock(&mu_);
  return absl::StrJoin(log_, "\n");
}

void AddFlashpoolProperties(dv1::CallContext* context) {
  auto& p = *context->mutable_properties();
  p["management_vip"].set_string_value("10.0.0.5");
  p["storage_vip"].set_string_value("10.0.1.5");
  p["admin_username"].set_string_value("admin");
  p["admin_password"].set_string_value("s3cret");
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout) {
  ChildProcessManager launcher;
  absl::Mutex mu;
  CommandResult result;
  bool done = false;
  auto pid = launcher.Launch(
      LaunchSpec{argv[0],
                 {argv.begin() + 1, argv.end()},
                 {"PATH=/usr/bin:/bin"},
                 "/",
                 {}},
      [&](OutputStream stream, absl::string_view line) {
        absl::MutexLock lock(&mu);
        (stream == OutputStream::kStdout ? result.out : result.err)
            .append(line.data(), line.size())
            .append("\n");
      },
      [&](const ExitInfo& e) {
        absl::MutexLock lock(&mu);
        result.exit_code = e.signal ? 128 + e.signal : e.exit_code;
        done = true;
      });
  REQUIRE(pid.ok());
  absl::MutexLock lock(&mu);
  if (!mu.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    (void)launcher.Signal(*pid, SIGKILL);
    mu.Await(absl::Condition(&done));
  }
  return result;
}

sv1::Driver AwaitDriver(Daemon& daemon, const std::string& name,
                        const std::function<bool(const sv1::Driver&)>& done,
                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sv1::Driver d;
  while (absl::Now() < deadline) {
    d = daemon.GetDriver(name);
    if (done(d)) return d;
    absl::SleepFor(absl::Milliseconds(10));
  }
  INFO(daemon.Log());
  FAIL("driver " << name << " never reached the expected state; last: "
                 << d.ShortDebugString());
  return d;
}

bool AwaitProcessesGone(const std::vector<int>& pids, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int alive = 0;
    for (int pid : pids) alive += ::kill(pid, 0) == 0;
    if (alive == 0) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

KeeperReaper::~KeeperReaper() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(dir_) / "state" / "keepers", ec)) {
    if (entry.path().extension() != ".rec") continue;
    absl::StatusOr<KeeperRecord> r = ReadKeeperRecord(entry.path().string());
    if (r.ok() && ProcessStartTime(r->keeper_pid) == r->start_time) {
      ::kill(r->keeper_pid, SIGKILL);
    }
  }
}

bool StopProcess(int pid, absl::Duration timeout) {
  if (::kill(pid, SIGSTOP) != 0) return false;
  // The stop is asynchronous: a thread still running on another CPU stops
  // a moment later.
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool all = true;
    int threads = 0;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(
             absl::StrCat("/proc/", pid, "/task"), ec)) {
      std::ifstream in(task.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
      const size_t close = stat.rfind(')');
      const char state = close + 2 < stat.size() ? stat[close + 2] : '?';
      ++threads;
      if (state != 'T' && state != 't') all = false;
    }
    if (threads > 0 && all) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

}  // namespace pitstop
