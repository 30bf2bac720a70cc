#ifndef PITSTOP_SUPERVISOR_CONFIG_DAEMON_FLAGS_H_
#define PITSTOP_SUPERVISOR_CONFIG_DAEMON_FLAGS_H_

// pitstopd's command-line overrides of its configuration file.

#include <string>

#include "absl/status/status.h"
#include "supervisor/config/daemon_config.h"

namespace pitstop {

// Each field is an override when not empty (the booleans when true).
struct DaemonFlags {
  std::string listen;
  std::string state_dir;
  std::string drivers_dir;
  std::string trust_dir;
  std::string log_level;
  std::string log_format;
  std::string sandbox;
  bool require_signed = false;
  bool leave_drivers_on_exit = false;
};

// Applies `flags` over `config`, checked as the configuration file's keys
// are; relative directories are taken from the working directory.
// INVALID_ARGUMENT naming the flag; `config` is unchanged then.
absl::Status ApplyDaemonFlags(const DaemonFlags& flags, DaemonConfig& config);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CONFIG_DAEMON_FLAGS_H_
