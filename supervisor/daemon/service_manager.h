#ifndef PITSTOP_SUPERVISOR_DAEMON_SERVICE_MANAGER_H_
#define PITSTOP_SUPERVISOR_DAEMON_SERVICE_MANAGER_H_

// pitstopd under systemd, through libsystemd (sd_notify(3),
// sd_listen_fds(3), sd_watchdog_enabled(3)): readiness and status, the
// watchdog, and a listening socket systemd passes. Outside systemd (no
// NOTIFY_SOCKET, no LISTEN_FDS) every call is a no-op. Thread-safe.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pitstop {

class ServiceManager {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC once.
  ServiceManager();

  // READY=1 with a STATUS= line.
  void Ready(const std::string& status) const;
  void Status(const std::string& status) const;
  // STOPPING=1 with a STATUS= line.
  void Stopping(const std::string& status) const;
  // WATCHDOG=1.
  void Watchdog() const;
  // How often systemd expects WATCHDOG=1 (WatchdogSec=); nullopt when not.
  std::optional<absl::Duration> watchdog_interval() const { return watchdog_; }

 private:
  void Notify(const std::string& state) const;

  bool supervised_ = false;
  std::optional<absl::Duration> watchdog_;
};

// The listening socket systemd passed (socket activation, LISTEN_FDS for
// this pid), made non-blocking and close-on-exec; -1 when none was passed.
// INVALID_ARGUMENT when more than one was, or one that is not a listening
// stream socket (a pitstopd.socket with ListenStream= gives exactly one).
absl::StatusOr<int> TakeActivatedSocket();

// The address of listening socket `fd` as clients reach it:
// "unix:/run/pitstop/pitstopd.sock" or "127.0.0.1:7443".
std::string ListeningAddress(int fd);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_SERVICE_MANAGER_H_
