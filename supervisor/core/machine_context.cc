#include "supervisor/core/machine_context.h"

#include <sys/un.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"

namespace pitstop {

namespace fs = std::filesystem;

std::string ShortDuration(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}

RestartPolicyOptions EffectiveRestartPolicy(const RestartPolicyOptions& daemon,
                                            const DriverRestartPolicy& driver) {
  // A driver may be stricter than the operator allows, never looser: fewer
  // restarts, a longer window, shorter waits.
  RestartPolicyOptions out = daemon;
  if (driver.max_restarts) {
    out.max_restarts = std::min(*driver.max_restarts, daemon.max_restarts);
  }
  if (driver.window) out.window = std::max(*driver.window, daemon.window);
  if (driver.max_backoff) {
    out.max_backoff = std::min(*driver.max_backoff, daemon.max_backoff);
  }
  if (driver.initial_backoff) {
    out.initial_backoff = std::min(*driver.initial_backoff, out.max_backoff);
  }
  return out;
}

MachineContext::MachineContext(
    const SupervisorOptions& options, EventLog& events, DriverTable& table,
    std::function<void(const std::string&)> on_load_drained)
    : options_(options),
      events_(events),
      table_(table),
      on_load_drained_(std::move(on_load_drained)) {}

void MachineContext::SetState(const std::string& name, DriverRecord& r,
                              DriverState state, absl::Time now) {
  if (r.state == state) return;
  Log(state == DriverState::kBackoff || state == DriverState::kFailed
          ? LogLevel::kWarning
          : LogLevel::kInfo,
      "supervisor",
      absl::StrCat("driver ", name, " is ", DriverStateName(state),
                   r.message.empty() ? "" : ": ", r.message),
      {{"driver", name},
       {"from", DriverStateName(r.state)},
       {"to", DriverStateName(state)}});
  DriverEvent event;
  event.driver = name;
  event.kind = "state";
  event.from = r.state;
  event.to = state;
  event.reason = r.message;
  event.pid = r.instance && r.instance->launched() ? r.instance->pid : 0;
  events_.Append(std::move(event));
  r.state = state;
  r.state_since = now;
  changed_.push_back(name);
}

std::vector<std::string> MachineContext::TakeChanged() {
  return std::exchange(changed_, {});
}

DriverEvent MachineContext::MakeEvent(const std::string& name,
                                      const DriverRecord& r,
                                      absl::string_view kind,
                                      std::string reason, pid_t pid) const {
  DriverEvent event;
  event.driver = name;
  event.kind = std::string(kind);
  event.from = r.state;
  event.to = r.state;
  event.reason = std::move(reason);
  event.pid = pid;
  return event;
}

uint64_t MachineContext::Note(const std::string& name, const DriverRecord& r,
                              absl::string_view kind, std::string reason,
                              pid_t pid) {
  return events_.Append(MakeEvent(name, r, kind, std::move(reason), pid));
}

void MachineContext::SetPackage(
    DriverRecord& r, std::shared_ptr<const DriverPackage> package) const {
  r.package = std::move(package);
  r.policy = RestartPolicy(
      EffectiveRestartPolicy(options_.restart, r.package->manifest.restart));
}

std::unique_ptr<Instance> MachineContext::MakeInstance(
    const std::string& name, std::shared_ptr<const DriverPackage> package,
    uint64_t id, absl::Time now) {
  auto inst = std::make_unique<Instance>();
  inst->id = id;
  next_instance_id_ = std::max(next_instance_id_, id + 1);
  inst->package = std::move(package);
  // A resource or the whole of a replaced instance drained: waiting calls
  // may go on, the instance may stop.
  inst->load = std::make_shared<InstanceLoad>(
      [drained = on_load_drained_, name] { drained(name); });
  inst->dir = (fs::path(options_.run_dir) / name / std::to_string(id)).string();
  inst->socket_path = (fs::path(inst->dir) / "driver.sock").string();
  inst->start_deadline = now + inst->package->manifest.timeouts.start;
  inst->next_probe = now;
  return inst;
}

std::unique_ptr<Instance> MachineContext::AdoptedInstance(
    const std::string& name, std::shared_ptr<const DriverPackage> package,
    uint64_t id, pid_t pid, absl::Time now) {
  std::unique_ptr<Instance> inst =
      MakeInstance(name, std::move(package), id, now);
  inst->pid = pid;
  inst->phase = InstancePhase::kStarting;
  return inst;
}

std::unique_ptr<Instance> MachineContext::NewInstance(
    const std::string& name, std::shared_ptr<const DriverPackage> package,
    absl::Time now, Effects::Launch* out) {
  const DriverManifest& m = package->manifest;
  std::unique_ptr<Instance> inst =
      MakeInstance(name, package, next_instance_id_, now);
  const std::string data_dir = (fs::path(options_.data_dir) / name).string();

  Effects::Launch launch;
  launch.driver = name;
  launch.instance_id = inst->id;
  launch.dir = inst->dir;
  launch.spec.executable =
      (fs::path(package->install_dir) / m.entrypoint).string();
  launch.expected_sha256 = package->entrypoint_sha256;
  launch.spec.working_dir = data_dir;
  launch.spec.env = {
      absl::StrCat("PITSTOP_SOCKET=", inst->socket_path),
      absl::StrCat("PITSTOP_DRIVER_NAME=", name),
      absl::StrCat("PITSTOP_DRIVER_VERSION=", m.version.ToString()),
      absl::StrCat("PITSTOP_DRIVER_ROOT=", package->install_dir),
      absl::StrCat("PITSTOP_STATE_DIR=", data_dir),
      absl::StrCat("PITSTOP_INSTANCE_ID=", inst->id),
      absl::StrCat("LD_LIBRARY_PATH=",
                   (fs::path(package->install_dir) / "lib").string()),
      absl::StrCat("HOME=", data_dir),
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "LANG=C.UTF-8",
  };
  launch.spec.sandbox = SandboxFor(*package, options_.sandbox);
  launch.spec.sandbox.instance_id = inst->id;
  launch.spec.sandbox.version = m.version.ToString();
  launch.spec.sandbox.data_dir = data_dir;
  launch.spec.sandbox.socket_dir = inst->dir;
  if (std::string missing = MissingPermission(*package, options_.sandbox);
      !missing.empty()) {
    // A version (e.g. an upgrade) asking for more than was granted.
    inst->FailBeforeLaunch(std::move(missing));
  } else if (inst->socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    inst->FailBeforeLaunch(
        absl::StrCat("socket path ", inst->socket_path, " is longer than ",
                     sizeof(sockaddr_un{}.sun_path) - 1,
                     " bytes; choose a shorter --state-dir"));
  }
  *out = std::move(launch);
  return inst;
}

}  // namespace pitstop
