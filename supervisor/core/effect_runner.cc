#include "supervisor/core/effect_runner.h"

#include <csignal>
#include <vector>

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"
#include "supervisor/core/driver_log_line.h"

namespace pitstop {

EffectRunner::EffectRunner(ProcessLauncher& launcher,
                           DriverEndpointFactory& endpoints,
                           InstanceFiles& files, Clock& clock, EventLog& events,
                           InstanceEvents& sink)
    : launcher_(launcher),
      endpoints_(endpoints),
      files_(files),
      events_(events),
      sink_(sink),
      entrypoints_(clock) {}

namespace {

// A driver's output lines into the daemon's log, tagged.
ProcessLauncher::OutputHandler DriverOutput(const std::string& driver,
                                            uint64_t instance_id) {
  return [driver, id_text = std::to_string(instance_id)](
             OutputStream stream, absl::string_view line) {
    const DriverLogLine parsed = ParseDriverLogLine(line);
    std::vector<LogField> fields = {
        {"driver", driver},
        {"instance", id_text},
        {"stream", stream == OutputStream::kStderr ? "stderr" : "stdout"}};
    for (const auto& [key, value] : parsed.fields) {
      fields.emplace_back(key, value);
    }
    Log(parsed.level, "driver", parsed.message, fields);
  };
}

}  // namespace

std::shared_ptr<DriverEndpoint> EffectRunner::Adopt(
    const std::string& driver, uint64_t instance_id, pid_t pid,
    const std::string& socket_path) {
  std::shared_ptr<DriverEndpoint> endpoint = endpoints_.Connect(socket_path);
  absl::Status adopted =
      launcher_.Adopt(pid, DriverOutput(driver, instance_id),
                      [this, driver, instance_id](const ExitInfo& exit) {
                        sink_.OnExit(driver, instance_id, exit);
                      });
  if (!adopted.ok()) {
    LogWarning("supervisor",
               absl::StrCat("driver ", driver, " pid ", pid,
                            " could not be re-adopted: ", adopted.message()),
               {{"driver", driver}});
  }
  return endpoint;
}

void EffectRunner::StopSurvivor(pid_t pid) {
  (void)launcher_.Adopt(pid, nullptr, nullptr);
  (void)launcher_.Signal(pid, SIGKILL);
}

void EffectRunner::Launch(Effects::Launch& l) {
  const std::string driver = l.driver;
  const uint64_t id = l.instance_id;
  if (absl::Status prepared =
          files_.Prepare(l.dir, l.spec.working_dir, "driver.sock");
      !prepared.ok()) {
    sink_.OnLaunched(driver, id, std::move(prepared), nullptr, {});
    return;
  }
  std::shared_ptr<DriverEndpoint> endpoint =
      endpoints_.Connect(absl::StrCat(l.dir, "/driver.sock"));
  l.spec.on_listening = [this, driver, id] { sink_.OnListening(driver, id); };
  if (!l.expected_sha256.empty()) {
    // Like Vault's plugin catalog: what runs is what was installed.
    absl::Status same =
        entrypoints_.Verify(l.spec.executable, l.expected_sha256);
    if (!same.ok()) {
      sink_.OnLaunched(driver, id, std::move(same), nullptr, {});
      return;
    }
  }
  absl::StatusOr<pid_t> pid =
      launcher_.Launch(l.spec, DriverOutput(driver, id),
                       [this, driver, id](const ExitInfo& exit) {
                         sink_.OnExit(driver, id, exit);
                       });
  if (pid.ok()) {
    // So that a daemon restarted after a crash can find this process.
    if (absl::Status recorded = files_.RecordPid(l.dir, *pid); !recorded.ok()) {
      LogWarning("supervisor",
                 absl::StrCat("cannot record the pid of driver ", driver,
                              " in ", l.dir, "/pid (", recorded.message(),
                              ": did the driver replace it?)"),
                 {{"driver", driver}});
    }
  }
  SandboxReport sandbox =
      pid.ok() ? launcher_.Protections(*pid) : SandboxReport{};
  sink_.OnLaunched(driver, id, std::move(pid), std::move(endpoint),
                   std::move(sandbox));
}

void EffectRunner::Run(Effects effects) {
  for (Effects::Launch& l : effects.launches) Launch(l);
  for (const auto& load : effects.cancels) load->CancelAll();
  for (auto [pid, sig] : effects.signals) {
    // NOT_FOUND: it is already gone, and its exit event is on the way.
    (void)launcher_.Signal(pid, sig);
  }
  for (Effects::Probe& p : effects.probes) {
    p.endpoint->Probe(p.deadline, [this, d = p.driver, i = p.instance_id](
                                      absl::StatusOr<ProbeResult> r) {
      sink_.OnProbe(d, i, std::move(r));
    });
  }
  for (auto& [done, result] : effects.replies) done(std::move(result));
  for (const auto& [driver, desired] : effects.persist) {
    if (store_ == nullptr) continue;
    if (absl::Status st = store_->Save(driver, desired); !st.ok()) {
      // The daemon keeps serving; the intent is lost only if it restarts.
      LogError("supervisor", st.message(), {{"driver", driver}});
    }
  }
  for (DriverEvent& e : effects.after_persist) events_.Append(std::move(e));
  for (const std::string& dir : effects.remove_dirs) files_.Remove(dir);
}

}  // namespace pitstop
