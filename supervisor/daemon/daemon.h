#ifndef PITSTOP_SUPERVISOR_DAEMON_DAEMON_H_
#define PITSTOP_SUPERVISOR_DAEMON_DAEMON_H_

// pitstopd put together: the only place that picks concrete
// implementations (the real clock, the process manager, gRPC endpoints,
// SQLite stores, the frame router) and wires them.
//
//   Create  -- prepares and locks the state directory, takes back the
//              drivers an earlier daemon left running, kills what else it
//              left, loads the installed CARs, restores operator intent,
//              listens; with `take_over`, first asks the daemon serving the
//              state directory to hand over (handover.h);
//   Serve   -- starts the control loop, the drivers in order, the
//              repository refresher;
//   Wait    -- until a stop signal (RequestStop) or a new pitstopd asking
//              to take over;
//   Shutdown -- refuses new calls, lets calls in flight finish (2 s), stops
//              every driver in reverse order, closes the listener;
//   HandOver -- gives the listener, the drivers and the lock to the new
//              pitstopd (docs/lifecycle.md) and stops without stopping a
//              driver.
//
// Create, Serve, then Wait and either Shutdown or HandOver (Wait again when
// HandOver says it was abandoned) are called from one thread. SIGPIPE must
// be ignored, and SIGTERM/SIGINT blocked in every thread, before Create.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/config/daemon_config.h"

namespace pitstop {

class Daemon {
 public:
  // Errors name what could not be prepared (a directory, the lock, a
  // store, the listening address).
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(DaemonConfig config,
                                                        bool take_over = false);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The address clients reach (a picked TCP port filled in).
  const std::string& address() const;

  // Returns once every driver has been started (or has failed).
  void Serve();
  enum class Ending { kStop, kHandOver };
  // Blocks until RequestStop, or until a new pitstopd asks to take over.
  Ending Wait();
  // Any thread (the signal handler's): Wait returns kStop.
  void RequestStop();

  // Blocks until every driver has stopped.
  void Shutdown();
  // Instead of Shutdown (leave_drivers_on_exit): lets calls and client
  // connections drain (at most 10 s; the listening socket, systemd's or
  // this daemon's, keeps new connections in its backlog), then releases
  // the drivers to their keepers, running, for the next pitstopd to
  // re-adopt.
  void Detach();
  // After Wait said kHandOver: true once everything was handed over (the
  // daemon has stopped, drivers running; the caller exits), false when the
  // new daemon went away first (this one serves on: Wait again).
  bool HandOver();

 private:
  struct Parts;
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_DAEMON_DAEMON_H_
