#ifndef PITSTOP_SUPERVISOR_CORE_EFFECT_RUNNER_H_
#define PITSTOP_SUPERVISOR_CORE_EFFECT_RUNNER_H_

// Carries out what the Supervisor decided under its lock (Effects), after
// it released the lock: prepares instance files, checks entrypoints,
// launches, signals, probes, answers parked calls, saves intent, announces
// events that wait for the save, and removes instance files. What comes of
// a launch or a probe is reported to an InstanceEvents sink, from this
// thread or the launcher's and endpoints' threads.
//
// Run is called from one thread at a time (the control loop, or a test's
// Step). It blocks on the file system and the launcher.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/common/clock.h"
#include "supervisor/core/desired_state.h"
#include "supervisor/core/driver_endpoint.h"
#include "supervisor/core/effects.h"
#include "supervisor/core/entrypoint_verifier.h"
#include "supervisor/core/event_log.h"
#include "supervisor/sandbox/instance_files.h"
#include "supervisor/sandbox/process_launcher.h"

namespace pitstop {

// Where the outcomes of launches and probes go (the Supervisor).
class InstanceEvents {
 public:
  virtual ~InstanceEvents() = default;
  virtual void OnLaunched(const std::string& driver, uint64_t instance_id,
                          absl::StatusOr<pid_t> pid,
                          std::shared_ptr<DriverEndpoint> endpoint,
                          SandboxReport sandbox) = 0;
  virtual void OnExit(const std::string& driver, uint64_t instance_id,
                      const ExitInfo& exit) = 0;
  virtual void OnProbe(const std::string& driver, uint64_t instance_id,
                       absl::StatusOr<ProbeResult> result) = 0;
  // The instance's socket appeared.
  virtual void OnListening(const std::string& driver, uint64_t instance_id) = 0;
};

class EffectRunner {
 public:
  EffectRunner(ProcessLauncher& launcher, DriverEndpointFactory& endpoints,
               InstanceFiles& files, Clock& clock, EventLog& events,
               InstanceEvents& sink);

  // Where intent is saved (not owned; may be null). Call before Run.
  void SetStore(DesiredStateStore* store) { store_ = store; }

  void Run(Effects effects);

  // The instances an earlier daemon left (ProcessLauncher::FindSurvivors).
  std::vector<Survivor> FindSurvivors() { return launcher_.FindSurvivors(); }
  // Takes survivor `pid` back as instance `instance_id` of `driver`, its
  // endpoint at `socket_path`; its exit is reported to the sink.
  std::shared_ptr<DriverEndpoint> Adopt(const std::string& driver,
                                        uint64_t instance_id, pid_t pid,
                                        const std::string& socket_path);
  // Takes survivor `pid` back only to stop it.
  void StopSurvivor(pid_t pid);

 private:
  void Launch(Effects::Launch& launch);

  // Constant after construction
  ProcessLauncher& launcher_;
  DriverEndpointFactory& endpoints_;
  InstanceFiles& files_;
  EventLog& events_;
  InstanceEvents& sink_;
  DesiredStateStore* store_ = nullptr;

  EntrypointVerifier entrypoints_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_EFFECT_RUNNER_H_
