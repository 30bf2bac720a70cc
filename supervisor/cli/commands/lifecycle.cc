// `pitstop start`, `stop`, `restart` and `reset`: one driver's process.

#include "absl/strings/str_cat.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
using Stub = AdminClient::Stub;

enum class Verb { kStart, kStop, kRestart, kReset };

// Asks for the change and prints the driver's state after it; fails unless
// the driver reached the state the verb aims at (STOPPED or READY).
class LifecycleCommand : public Command {
 public:
  explicit LifecycleCommand(Verb verb) : verb_(verb) {}

  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    if (verb_ == Verb::kRestart) {
      cmd.add_flag("--force", force_,
                   "stop the process at once instead of starting the new "
                   "one first and draining the old");
    }
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::Driver d;
    if (!Ask(client, &d)) return kExitFailure;
    if (c.output.json()) {
      c.output.Json(DriverToJson(d));
    } else {
      c.output.out() << d.name() << ": " << StateName(d.state());
      if (d.pid()) c.output.out() << " (pid " << d.pid() << ")";
      if (!d.message().empty()) c.output.out() << ": " << d.message();
      c.output.out() << "\n";
    }
    const sv1::DriverState wanted = verb_ == Verb::kStop
                                        ? sv1::DRIVER_STATE_STOPPED
                                        : sv1::DRIVER_STATE_READY;
    if (d.state() == wanted) return 0;
    return Error(absl::StrCat(name_, " did not reach ", StateName(wanted),
                              "; see `pitstop describe ", name_, "`"));
  }

 private:
  bool Ask(AdminClient& client, sv1::Driver* d) const {
    switch (verb_) {
      case Verb::kStart: {
        sv1::StartDriverRequest r;
        r.set_name(name_);
        return client.Call(&Stub::StartDriver, r, d);
      }
      case Verb::kStop: {
        sv1::StopDriverRequest r;
        r.set_name(name_);
        return client.Call(&Stub::StopDriver, r, d);
      }
      case Verb::kReset: {
        sv1::ResetDriverRequest r;
        r.set_name(name_);
        return client.Call(&Stub::ResetDriver, r, d);
      }
      case Verb::kRestart:
        break;
    }
    sv1::RestartDriverRequest r;
    r.set_name(name_);
    r.set_force(force_);
    return client.Call(&Stub::RestartDriver, r, d);
  }

  const Verb verb_;
  std::string name_;
  bool force_ = false;
};

}  // namespace

std::vector<CommandSpec> LifecycleCommands() {
  return {
      {"", "start", "start a driver", TakesOutput::kYes,
       Make<LifecycleCommand>(Verb::kStart)},
      {"", "stop", "stop a driver", TakesOutput::kYes,
       Make<LifecycleCommand>(Verb::kStop)},
      {"", "restart", "restart a driver", TakesOutput::kYes,
       Make<LifecycleCommand>(Verb::kRestart)},
      {"", "reset", "clear a FAILED driver's mark and start it again",
       TakesOutput::kYes, Make<LifecycleCommand>(Verb::kReset)},
  };
}

}  // namespace pitstop
