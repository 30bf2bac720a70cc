#include "supervisor/sanity/sanity_daemon.h"

#include <grpcpp/create_channel.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/sandbox/keeper_record.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace sv1 = pitstop::supervisor::v1;

constexpr size_t kMaxLog = 1 << 20;
constexpr int kUidBase = 64000;

// The drivers' keepers a killed daemon left running: each recorded one
// that is still the recorded process (its start time) is killed, and with
// it its driver (the init of its PID namespace).
void KillKeepers(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".rec") continue;
    absl::StatusOr<KeeperRecord> r = ReadKeeperRecord(entry.path().string());
    if (r.ok() && ProcessStartTime(r->keeper_pid) == r->start_time) {
      ::kill(r->keeper_pid, SIGKILL);
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SanityDaemon>> SanityDaemon::Start(
    const std::string& pitstopd, const std::vector<std::string>& cars,
    const std::string& sandbox) {
  std::unique_ptr<SanityDaemon> d(new SanityDaemon());
  std::string dir = (fs::temp_directory_path() / "pitstop-sanity-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return absl::UnavailableError("cannot make a temporary directory");
  }
  d->dir_ = dir;
  std::error_code ec;
  fs::create_directories(dir + "/cars", ec);
  for (const std::string& car : cars) {
    fs::copy_file(car, fs::path(dir) / "cars" / fs::path(car).filename(), ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot copy ", car, ": ", ec.message()));
    }
  }
  const std::string socket = dir + "/pitstopd.sock";
  // Drivers' uids of its own: under the same base as a pitstopd running
  // on this host, a driver of the same name would share that daemon's
  // driver's uid and so its process limit (docs/operator-guide.md,
  // sandbox_uid_base).
  const std::string config = dir + "/pitstopd.yaml";
  std::ofstream(config) << "sandbox_uid_base: " << kUidBase << "\n";
  std::vector<std::string> args = {
      "--config",    config,         "--listen",      "unix:" + socket,
      "--state-dir", dir + "/state", "--drivers-dir", dir + "/cars",
      "--log-level", "info"};
  if (!sandbox.empty()) {
    args.push_back("--sandbox");
    args.push_back(sandbox);
  }
  SanityDaemon* self = d.get();
  absl::StatusOr<pid_t> pid = d->launcher_.Launch(
      LaunchSpec{pitstopd, args, {"PATH=/usr/bin:/bin"}, dir, {}},
      [self](OutputStream, absl::string_view line) {
        absl::MutexLock lock(&self->mu_);
        if (self->log_.size() < kMaxLog)
          absl::StrAppend(&self->log_, line, "\n");
      },
      [self](const ExitInfo&) {
        absl::MutexLock lock(&self->mu_);
        self->exited_ = true;
      });
  if (!pid.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot start ", pitstopd, ": ", pid.status().message()));
  }
  d->pid_ = *pid;
  d->channel_ =
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  d->admin_ = sv1::AdminService::NewStub(d->channel_);
  return d;
}

void SanityDaemon::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (pid_ != 0) {
    (void)launcher_.Signal(pid_, SIGTERM);
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(&exited_), absl::Seconds(60))) {
      mu_.Unlock();
      (void)launcher_.Signal(pid_, SIGKILL);
      KillKeepers(dir_ + "/state/keepers");
      mu_.Lock();
      mu_.Await(absl::Condition(&exited_));
    }
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

absl::StatusOr<sv1::Driver> SanityDaemon::AwaitDriver(
    const std::string& name,
    const std::function<bool(const sv1::Driver&)>& done,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sv1::Driver last;
  std::string why = "no answer yet";
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    ctx.set_wait_for_ready(true);
    sv1::GetDriverRequest request;
    request.set_name(name);
    grpc::Status s = admin_->GetDriver(&ctx, request, &last);
    if (s.ok() && done(last)) return last;
    why = s.ok() ? "" : s.error_message();
    if (absl::Now() >= deadline || exited()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (!why.empty()) return absl::DeadlineExceededError(why);
  return last;
}

std::string SanityDaemon::Log() {
  absl::MutexLock lock(&mu_);
  return log_;
}

bool SanityDaemon::exited() {
  absl::MutexLock lock(&mu_);
  return exited_;
}

}  // namespace pitstop
