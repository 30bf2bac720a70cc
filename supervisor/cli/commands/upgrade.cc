// `pitstop upgrade` and `pitstop rollback`: start the change (or act on a
// canary in progress), then follow the driver's events until it has
// committed or been rolled back; `pitstop where`.

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "supervisor/cli/canary_flags.h"
#include "supervisor/cli/commands/commands.h"
#include "supervisor/cli/read_file.h"
#include "supervisor/cli/upgrade_watch.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
using Stub = AdminClient::Stub;

absl::Status ParseMillis(const std::string& text, const char* flag,
                         uint32_t* out) {
  if (text.empty()) return absl::OkStatus();
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": '", text, "' is not a duration; write e.g. 30s, 500ms or 2m"));
  }
  *out = static_cast<uint32_t>(absl::ToInt64Milliseconds(d));
  return absl::OkStatus();
}

void PrintUpgradeEvent(const sv1::Event& e, const Output& output) {
  if (output.json()) {
    output.MessageLine(e);
    return;
  }
  output.out() << google::protobuf::util::TimeUtil::ToString(e.time()) << "  "
               << e.kind();
  if (e.pid()) output.out() << "  pid " << e.pid();
  output.out() << "  " << e.reason() << std::endl;
}

// Whether only one process of `name` is left, besides those kept for
// pinned resources.
bool SingleInstance(AdminClient& client, const std::string& name) {
  sv1::GetDriverRequest get;
  get.set_name(name);
  sv1::Driver d;
  if (!client.TryCall(&Stub::GetDriver, get, &d).ok()) return false;
  int others = 0;
  for (const auto& i : d.instances()) others += i.role() == "pinned" ? 0 : 1;
  return others <= 1;
}

// Prints the driver's upgrade events from `since` on until the upgrade has
// ended: 0 once committed and the old version stopped, 1 when rolled back
// (or 0 then, when a rollback was asked for).
int FollowUpgrade(const Output& output, AdminClient& client,
                  const std::string& name, uint64_t since,
                  bool rollback_wanted) {
  grpc::ClientContext ctx;
  sv1::WatchEventsRequest request;
  request.set_follow(true);
  request.set_driver(name);
  request.set_since_sequence(since);
  auto reader = client.stub().WatchEvents(&ctx, request);
  UpgradeWatch watch;
  sv1::Event e;
  int rc = 1;
  while (reader->Read(&e)) {
    const UpgradeProgress progress = watch.Next(e);
    if (progress == UpgradeProgress::kHidden) continue;
    PrintUpgradeEvent(e, output);
    if (progress == UpgradeProgress::kRolledBack) {
      rc = rollback_wanted ? 0 : 1;
      ctx.TryCancel();
      break;
    }
    // Done at once after the commit when only one process is left.
    if (progress == UpgradeProgress::kEnded ||
        (progress == UpgradeProgress::kCommitted &&
         SingleInstance(client, name))) {
      rc = 0;
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
    return client.Fail(s);
  }
  if (rc != 0 && !rollback_wanted) {
    return Error(absl::StrCat("the upgrade of ", name, " was rolled back"));
  }
  return rc;
}

// What upgrade and rollback share: the name, the timing flags, waiting.
class UpgradeBase : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    DefineTarget(cmd);
    cmd.add_option("--drain-timeout", drain_timeout_,
                   "how long the old version may finish its calls after the "
                   "cut-over (default: the driver's timeouts.drain)");
    cmd.add_option("--probation", probation_,
                   "how long the new version must serve without failing "
                   "before the upgrade commits (default 10s)");
    cmd.add_flag("--no-wait", no_wait_, "return once the upgrade has begun");
  }

  int Run(const CommandContext& c) override {
    if (int rc = CheckTarget(); rc != 0) return rc;
    if (int rc = RunControl(c); rc >= 0) return rc;
    uint32_t drain_ms = 0, probation_ms = 0;
    if (auto s = ParseMillis(drain_timeout_, "--drain-timeout", &drain_ms);
        !s.ok()) {
      return Error(s.message());
    }
    if (auto s = ParseMillis(probation_, "--probation", &probation_ms);
        !s.ok()) {
      return Error(s.message());
    }
    AdminClient client(c.global);
    sv1::UpgradeDriverResponse response;
    if (int rc = Begin(client, drain_ms, probation_ms, &response); rc != 0) {
      return rc;
    }
    if (!c.output.json()) {
      c.output.out() << (rollback() ? "rolling back " : "upgrading ") << name_
                     << " " << response.from_version() << " -> "
                     << response.to_version() << "\n";
    }
    if (no_wait_) return 0;
    return FollowUpgrade(c.output, client, name_,
                         response.started_sequence() - 1, rollback());
  }

 protected:
  virtual bool rollback() const = 0;
  // The options that say what to upgrade to.
  virtual void DefineTarget(CLI::App& /*cmd*/) {}
  // 0, or the exit code of a bad combination of those options.
  virtual int CheckTarget() const { return 0; }
  // An action on an upgrade in progress instead of a new one: its exit
  // code, or -1 when none was asked for.
  virtual int RunControl(const CommandContext& /*c*/) { return -1; }
  // Asks the daemon to begin; 0 or the exit code of the failure (printed).
  virtual int Begin(AdminClient& client, uint32_t drain_ms,
                    uint32_t probation_ms,
                    sv1::UpgradeDriverResponse* response) = 0;

  std::string name_;

 private:
  std::string drain_timeout_;
  std::string probation_;
  bool no_wait_ = false;
};

class UpgradeCommand : public UpgradeBase {
 protected:
  bool rollback() const override { return abort_; }

  void DefineTarget(CLI::App& cmd) override {
    auto* to = cmd.add_option(
        "--to", to_,
        "the version to upgrade to: installed, or fetched from a "
        "repository");
    auto* car =
        cmd.add_option("--car", car_, "install this CAR, then upgrade to it");
    to->excludes(car);
    auto* canary = cmd.add_option(
        "--canary", canary_.canary,
        "a canary upgrade: this share of the resources (a stable hash of "
        "type/id) goes to the new version first, e.g. 10%; then 100%");
    cmd.add_option("--steps", canary_.steps,
                   "the canary's shares, step by step, e.g. 10%,50%,100% "
                   "(100% is the cut-over, then the probation)")
        ->excludes(canary);
    cmd.add_option("--canary-resources", canary_.resources,
                   "resources on the new version from the first step, e.g. "
                   "volume/vol-1,volume/vol-2");
    cmd.add_option("--interval", canary_.interval,
                   "how long each canary step lasts before its gate is "
                   "judged (default 2m)");
    cmd.add_option("--gate", canary_.gate, kCanaryGateHelp);
    cmd.add_flag("--promote", promote_,
                 "a canary in progress: every resource to the new version "
                 "now (the cut-over, then the probation)");
    cmd.add_flag("--pause", pause_,
                 "a canary in progress: hold its step (the gate still rolls "
                 "back)");
    cmd.add_flag("--resume", resume_, "a paused canary: go on");
    cmd.add_flag("--abort", abort_,
                 "the upgrade or canary in progress: every resource back to "
                 "the old version (as `pitstop rollback`)");
  }

  int CheckTarget() const override {
    const int actions = promote_ + pause_ + resume_ + abort_;
    if (actions > 1) {
      return Error("give one of --promote, --pause, --resume, --abort");
    }
    if (actions == 1) {
      if (!to_.empty() || !car_.empty() || canary_.any()) {
        return Error(
            "--promote, --pause, --resume and --abort act on the upgrade in "
            "progress: give them without --to, --car or canary flags");
      }
      return 0;
    }
    if (to_.empty() != car_.empty()) return 0;
    return Error("give --to VERSION (an installed version) or --car FILE.car");
  }

  int RunControl(const CommandContext& c) override {
    if (abort_) return -1;  // Begin asks for the rollback, then it is followed
    if (!promote_ && !pause_ && !resume_) return -1;
    AdminClient client(c.global);
    sv1::ControlCanaryRequest request;
    request.set_name(name_);
    request.set_action(promote_ ? sv1::ControlCanaryRequest::ACTION_PROMOTE
                       : pause_ ? sv1::ControlCanaryRequest::ACTION_PAUSE
                                : sv1::ControlCanaryRequest::ACTION_RESUME);
    sv1::Driver d;
    if (!client.Call(&Stub::ControlCanary, request, &d)) return kExitFailure;
    if (c.output.json()) {
      c.output.MessageLine(d);
    } else {
      c.output.out() << name_ << ": " << d.upgrade() << "\n";
    }
    return 0;
  }

  int Begin(AdminClient& client, uint32_t drain_ms, uint32_t probation_ms,
            sv1::UpgradeDriverResponse* response) override {
    if (abort_) {
      sv1::RollbackDriverRequest request;
      request.set_name(name_);
      request.set_drain_timeout_ms(drain_ms);
      request.set_probation_ms(probation_ms);
      return client.Call(&Stub::RollbackDriver, request, response)
                 ? 0
                 : kExitFailure;
    }
    sv1::UpgradeDriverRequest request;
    request.set_name(name_);
    request.set_version(to_);
    if (canary_.any()) {
      absl::StatusOr<sv1::CanaryPlan> plan = CanaryPlanFromFlags(canary_);
      if (!plan.ok()) return Error(plan.status().message());
      *request.mutable_canary() = *std::move(plan);
    }
    if (!car_.empty()) {
      auto bytes = ReadFileBytes(car_);
      if (!bytes.ok()) return Error(bytes.status().message());
      request.set_car(*std::move(bytes));
    }
    request.set_drain_timeout_ms(drain_ms);
    request.set_probation_ms(probation_ms);
    return client.Call(&Stub::UpgradeDriver, request, response) ? 0
                                                                : kExitFailure;
  }

 private:
  std::string to_;
  std::string car_;
  CanaryFlags canary_;
  bool promote_ = false;
  bool pause_ = false;
  bool resume_ = false;
  bool abort_ = false;
};

class RollbackCommand : public UpgradeBase {
 protected:
  bool rollback() const override { return true; }

  int Begin(AdminClient& client, uint32_t drain_ms, uint32_t probation_ms,
            sv1::UpgradeDriverResponse* response) override {
    sv1::RollbackDriverRequest request;
    request.set_name(name_);
    request.set_drain_timeout_ms(drain_ms);
    request.set_probation_ms(probation_ms);
    return client.Call(&Stub::RollbackDriver, request, response) ? 0
                                                                 : kExitFailure;
  }
};

class WhereCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    cmd.add_option("RESOURCE", resource_, "TYPE/ID, e.g. volume/vol-1")
        ->required();
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::WhereResourceRequest request;
    request.set_name(name_);
    request.set_resource(resource_);
    sv1::WhereResourceResponse r;
    if (!client.Call(&Stub::WhereResource, request, &r)) return kExitFailure;
    if (c.output.json()) {
      c.output.MessageLine(r);
      return 0;
    }
    c.output.out() << resource_ << ": " << r.version();
    if (r.pid() != 0) c.output.out() << " (pid " << r.pid() << ")";
    c.output.out() << ": " << r.explanation();
    if (!r.moving_from().empty()) {
      c.output.out() << "; its calls on " << r.moving_from()
                     << " still run, the next wait for them";
    }
    c.output.out() << "\n";
    return 0;
  }

 private:
  std::string name_;
  std::string resource_;
};

class PinCommand : public Command {
 public:
  explicit PinCommand(bool pin) : pin_(pin) {}
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    cmd.add_option("RESOURCE", resource_, "TYPE/ID, e.g. volume/vol-1")
        ->required();
    if (pin_) {
      cmd.add_option("--version", version_,
                     "the installed version to keep it on")
          ->required();
    }
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::Driver d;
    if (pin_) {
      sv1::PinResourceRequest request;
      request.set_name(name_);
      request.set_resource(resource_);
      request.set_version(version_);
      if (!client.Call(&Stub::PinResource, request, &d)) return kExitFailure;
    } else {
      sv1::UnpinResourceRequest request;
      request.set_name(name_);
      request.set_resource(resource_);
      if (!client.Call(&Stub::UnpinResource, request, &d)) return kExitFailure;
    }
    if (c.output.json()) {
      c.output.MessageLine(d);
    } else if (pin_) {
      c.output.out() << resource_ << " of " << name_ << " pinned to "
                     << version_ << "\n";
    } else {
      c.output.out() << resource_ << " of " << name_
                     << " follows the active version (" << d.version() << ")\n";
    }
    return 0;
  }

 private:
  const bool pin_;
  std::string name_;
  std::string resource_;
  std::string version_;
};

}  // namespace

std::vector<CommandSpec> UpgradeCommands() {
  return {
      {"", "upgrade",
       "upgrade a driver in place: the new version starts beside the old one "
       "and takes the work resource by resource (or a canary share first, "
       "step by step); exits non-zero on rollback",
       TakesOutput::kYes, Make<UpgradeCommand>()},
      {"", "rollback",
       "abandon the upgrade in progress, or upgrade back to the version "
       "active before the last upgrade",
       TakesOutput::kYes, Make<RollbackCommand>()},
      {"", "where",
       "which version of a driver serves a resource now, and why (a canary's "
       "share, named to it, or the active version)",
       TakesOutput::kYes, Make<WhereCommand>()},
      {"", "pin",
       "keep one resource on a version through upgrades (that version runs "
       "on beside the active one for it); saved across restarts",
       TakesOutput::kYes, Make<PinCommand>(true)},
      {"", "unpin", "let a pinned resource follow the active version again",
       TakesOutput::kYes, Make<PinCommand>(false)},
  };
}

}  // namespace pitstop
