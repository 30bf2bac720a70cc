#ifndef PITSTOP_SUPERVISOR_SANDBOX_PID_FILE_H_
#define PITSTOP_SUPERVISOR_SANDBOX_PID_FILE_H_

// The pid file of a driver instance, <run>/<driver>/<instance>/pid, lets a
// daemon restarted after a crash find processes its predecessor left. The
// instance directory may belong to the driver (it holds its socket), so
// both sides refuse anything but a regular file owned by the daemon's user:
// no symlink is followed, no FIFO blocks them.

#include <sys/types.h>

#include <string>

namespace pitstop {

// Writes `pid` into `path`. False (and nothing written) when `path` is not
// a regular file of ours, e.g. a driver replaced it with a symlink.
bool WritePidFile(const std::string& path, pid_t pid);

// The pid in `path`, or 0 when it is missing, not a regular file of ours,
// or does not hold a pid.
pid_t ReadPidFile(const std::string& path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_PID_FILE_H_
