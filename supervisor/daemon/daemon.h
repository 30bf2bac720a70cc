#ifndef PITSTOP_SUPERVISOR_DAEMON_DAEMON_H_
#define PITSTOP_SUPERVISOR_DAEMON_DAEMON_H_

// pitstopd put together: the only place that picks concrete
// implementations (the real clock, the process manager, gRPC endpoints,
// SQLite stores, the frame router) and wires them.
//
//   Create  -- prepares and locks the state directory, kills what an
//              earlier daemon left, loads the installed CARs, restores
//              operator intent, listens;
//   Serve   -- starts the control loop, the drivers in order, the
//              repository refresher;
//   Shutdown -- refuses new calls, lets calls in flight finish (2 s), stops
//              every driver in reverse order, closes the listener.
//
// Create, Serve and Shutdown are called once each, in order, from one
// thread. SIGPIPE must be ignored, and SIGTERM/SIGINT blocked in every
// thread, before Create (the caller waits for them).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/config/daemon_config.h"

namespace pitstop {

class Daemon {
 public:
  // Errors name what could not be prepared (a directory, the lock, a
  // store, the listening address).
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(DaemonConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The address clients reach (a picked TCP port filled in).
  const std::string& address() const;

  // Returns once every driver has been started (or has failed).
  void Serve();
  // Blocks until every driver has stopped.
  void Shutdown();

 private:
  struct Parts;
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_DAEMON_H_
