#ifndef PITSTOP_SUPERVISOR_SANDBOX_KEEPER_CLIENT_H_
#define PITSTOP_SUPERVISOR_SANDBOX_KEEPER_CLIENT_H_

// The daemon's side of the keepers (keeper.h): their control sockets and
// records at launch, and at start-up the proof that a record's keeper is
// still the process it names (docs/lifecycle.md, "Re-adoption").
//
// Thread-safe functions; they block on the file system and, for at most
// their timeout, on keepers.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "supervisor/sandbox/keeper_protocol.h"
#include "supervisor/sandbox/keeper_record.h"

namespace pitstop {

// <keeper_dir>/<driver>.<instance>.sock and .rec.
std::string KeeperSocketPath(const std::string& keeper_dir,
                             const std::string& driver, uint64_t instance_id);
std::string KeeperRecordPath(const std::string& socket_path);

// Creates `keeper_dir` (root's, 0700) if missing and checks it: a directory
// of the daemon's own user that no one else may enter. FAILED_PRECONDITION
// naming it otherwise.
absl::Status PrepareKeeperDir(const std::string& keeper_dir);

// A Unix stream socket bound at `path` (a stale file there is replaced),
// close-on-exec, not listening: the keeper listens on it itself.
absl::StatusOr<int> BindKeeperSocket(const std::string& path);

// kKeeperSecretBytes from the kernel's random source, and as hex.
absl::Status NewKeeperSecret(uint8_t secret[kKeeperSecretBytes]);
std::string SecretHex(const uint8_t secret[kKeeperSecretBytes]);

// A keeper that proved who it is; its pidfd and control connection are open
// (the caller closes them).
struct ProvenKeeper {
  KeeperRecord record;
  int pidfd = -1;
  int connection = -1;
  KeeperHelloReply hello;
};

// Proves every keeper recorded in `keeper_dir`, in parallel, each within
// `timeout`. A record that fails is removed with its socket; its keeper is
// killed only when it is provably the recorded process (same boot, pid and
// start time) — never a process that merely has its pid. Each refusal is
// described in `refusals`.
std::vector<ProvenKeeper> ProveKeepers(const std::string& keeper_dir,
                                       absl::Duration timeout,
                                       std::vector<std::string>* refusals);

// Sends the keeper the write ends of new stdout, stderr and status pipes.
absl::Status AttachKeeper(int connection, int out_w, int err_w, int status_w);

// The read ends (non-blocking, close-on-exec) of a re-attached keeper's new
// stdout, stderr and status pipes.
struct KeeperPipes {
  int out_fd = -1;
  int err_fd = -1;
  int status_fd = -1;
};
// Makes the pipes, sends the keeper their write ends over `connection`
// (closed then) and returns the read ends; on failure nothing is left open
// and UNAVAILABLE says why.
absl::StatusOr<KeeperPipes> AttachNewPipes(int& connection);

// What FindSurvivors reports of a proven keeper.
Survivor SurvivorOf(const ProvenKeeper& keeper);

// Removes a keeper's socket and record.
void RemoveKeeperFiles(const std::string& socket_path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_KEEPER_CLIENT_H_
