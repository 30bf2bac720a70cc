#ifndef PITSTOP_SDK_STATE_FILE_H_
#define PITSTOP_SDK_STATE_FILE_H_

// A driver's persisted state: one file in its state directory, read and
// replaced whole.
//
// Every change replaces the file atomically (temporary file, fsync, rename,
// fsync of the directory), so a crash leaves either the old or the new
// contents. Every access takes an flock(2) on a lock file beside it and
// re-reads the file, so two driver processes sharing the directory (the old
// and the new version side by side during an upgrade) never lose each other's
// updates.
//
// StateFile holds an opaque string; TypedStateFile<State> adds the driver's
// own serialization on top.

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pitstop::sdk {

// Thread-safe; several instances, in one process or several, may share a
// file. Every call blocks on disk I/O and on other instances' calls.
class StateFile {
 public:
  // Opens `dir`/`name`, creating the lock file `dir`/`name`.lock if needed;
  // `dir` must exist. The state file itself is created by the first Update.
  // Errors: UNAVAILABLE if the lock file cannot be opened.
  static absl::StatusOr<std::unique_ptr<StateFile>> Open(
      const std::string& dir, const std::string& name);
  ~StateFile();

  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Runs `read` on the current contents (empty if the file does not exist
  // yet) under a shared lock and returns its result. Errors: UNAVAILABLE for
  // I/O errors.
  absl::Status Read(absl::FunctionRef<absl::Status(const std::string&)> read)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `mutate` on the current contents under an exclusive lock. If it
  // returns OK the changed contents replace the file before Update returns;
  // otherwise nothing changes and its error is returned. Errors: UNAVAILABLE
  // for I/O errors.
  absl::Status Update(absl::FunctionRef<absl::Status(std::string&)> mutate)
      ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& path() const { return path_; }

 private:
  StateFile(std::string dir, std::string path, int lock_fd);
  absl::Status LockLocked(int operation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveLocked(absl::string_view contents)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string dir_;
  const std::string path_;

  absl::Mutex mu_;
  // The flock(2)ed file; flock is per open file, so threads of this process
  // take mu_ first.
  const int lock_fd_ ABSL_GUARDED_BY(mu_);
};

// How a driver turns its state into the file's contents and back. `parse`
// never sees an empty string (that is a missing file: a default-constructed
// State) and returns DATA_LOSS, saying what to do, for corrupt contents.
template <typename State>
struct StateCodec {
  std::string (*serialize)(const State& state);
  absl::StatusOr<State> (*parse)(absl::string_view contents);
};

// A StateFile holding a `State` (default-constructible, movable), with the
// same guarantees and thread-safety. Each call parses the file afresh.
template <typename State>
class TypedStateFile {
 public:
  // As StateFile::Open, then reads the state once so that a corrupt file
  // fails here rather than at the first call. Errors: UNAVAILABLE for I/O
  // errors, the codec's DATA_LOSS for a corrupt file.
  static absl::StatusOr<std::unique_ptr<TypedStateFile>> Open(
      const std::string& dir, const std::string& name, StateCodec<State> codec);

  // Runs `read` on the current state and returns its result.
  absl::Status Read(absl::FunctionRef<absl::Status(const State&)> read) {
    return file_->Read([&](const std::string& contents) -> absl::Status {
      absl::StatusOr<State> state = Parse(contents);
      if (!state.ok()) return state.status();
      return read(*state);
    });
  }

  // Runs `mutate` on the current state; if it returns OK the changed state is
  // persisted before Update returns, otherwise nothing changes and its error
  // is returned.
  absl::Status Update(absl::FunctionRef<absl::Status(State&)> mutate) {
    return file_->Update([&](std::string& contents) -> absl::Status {
      absl::StatusOr<State> state = Parse(contents);
      if (!state.ok()) return state.status();
      absl::Status status = mutate(*state);
      if (!status.ok()) return status;
      contents = codec_.serialize(*state);
      return absl::OkStatus();
    });
  }

 private:
  TypedStateFile(std::unique_ptr<StateFile> file, StateCodec<State> codec)
      : file_(std::move(file)), codec_(codec) {}

  absl::StatusOr<State> Parse(const std::string& contents) const {
    if (contents.empty()) return State();
    return codec_.parse(contents);
  }

  // Constant after construction.
  const std::unique_ptr<StateFile> file_;
  const StateCodec<State> codec_;
};

template <typename State>
absl::StatusOr<std::unique_ptr<TypedStateFile<State>>>
TypedStateFile<State>::Open(const std::string& dir, const std::string& name,
                            StateCodec<State> codec) {
  absl::StatusOr<std::unique_ptr<StateFile>> file = StateFile::Open(dir, name);
  if (!file.ok()) return file.status();
  std::unique_ptr<TypedStateFile> typed(
      new TypedStateFile(*std::move(file), codec));
  absl::Status status =
      typed->Read([](const State&) { return absl::OkStatus(); });
  if (!status.ok()) return status;
  return typed;
}

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_STATE_FILE_H_
