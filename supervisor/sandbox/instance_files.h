#ifndef PITSTOP_SUPERVISOR_SANDBOX_INSTANCE_FILES_H_
#define PITSTOP_SUPERVISOR_SANDBOX_INSTANCE_FILES_H_

// The files the daemon keeps for each driver instance: a private directory
// (mode 0700), <run>/<driver>/<instance>/, holding the driver's socket and
// the instance's pid file, so that a daemon restarted after a crash can find
// the process. The supervisor reaches the file system only through this
// seam (like leveldb's Env), so its tests need no directories.
//
// Implementations are thread-safe and block on the file system.

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace pitstop {

class InstanceFiles {
 public:
  virtual ~InstanceFiles() = default;

  // Creates the instance directory `dir` (mode 0700) and the driver's
  // working directory, and removes a socket `socket_name` left in `dir`.
  virtual absl::Status Prepare(const std::string& dir,
                               const std::string& working_dir,
                               const std::string& socket_name) = 0;
  // Records `pid` in dir/pid. FAILED_PRECONDITION when that is not a regular
  // file of the daemon's (the driver may have replaced it).
  virtual absl::Status RecordPid(const std::string& dir, pid_t pid) = 0;
  // Removes `dir` and everything in it; a missing one is not an error.
  virtual void Remove(const std::string& dir) = 0;
};

// The real file system.
class DiskInstanceFiles final : public InstanceFiles {
 public:
  absl::Status Prepare(const std::string& dir, const std::string& working_dir,
                       const std::string& socket_name) override;
  absl::Status RecordPid(const std::string& dir, pid_t pid) override;
  void Remove(const std::string& dir) override;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_INSTANCE_FILES_H_
