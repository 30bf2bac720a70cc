#ifndef PITSTOP_SUPERVISOR_CORE_ENTRYPOINT_VERIFIER_H_
#define PITSTOP_SUPERVISOR_CORE_ENTRYPOINT_VERIFIER_H_

// Before every start, a driver's entrypoint must still be the file that was
// installed (its SHA-256, like Vault's plugin catalog). Hashing a 50 MB
// binary on every restart costs tens of milliseconds, so a file is hashed
// again only when its identity changed since it last matched: device,
// inode, size, modification and change time. Every write, truncation,
// rename over it or metadata change moves the change time, which no caller
// can set; a file changed within the last second is never trusted by
// identity, since a second change within the timestamps' granularity could
// leave them equal (git's "racy" case). What this does not catch needs root
// to set the clock back or write the block device, which could as well
// replace pitstopd.
//
// Thread-safe.

#include <sys/stat.h>

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/clock.h"

namespace pitstop {

class EntrypointVerifier {
 public:
  // `clock` tells how old a change time is (the real clock in the daemon).
  explicit EntrypointVerifier(Clock& clock) : clock_(clock) {}

  // OK when the file at `path` has SHA-256 `expected_sha256` (hex).
  // FAILED_PRECONDITION naming the file when it differs or cannot be read.
  absl::Status Verify(const std::string& path,
                      const std::string& expected_sha256)
      ABSL_LOCKS_EXCLUDED(mu_);

  // How many files were hashed so far (for tests and the debug log).
  uint64_t hashes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    timespec ctime{};
    bool operator==(const Identity& o) const;
  };
  struct Verified {
    Identity identity;
    std::string sha256;
  };
  static bool Stat(const std::string& path, Identity& out);

  Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, Verified> verified_ ABSL_GUARDED_BY(mu_);
  uint64_t hashes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CORE_ENTRYPOINT_VERIFIER_H_
