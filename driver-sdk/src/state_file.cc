#include "pitstop/sdk/state_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace pitstop::sdk {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ",
                                             std::strerror(errno),
                                             "; check the state directory"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateFile>> StateFile::Open(
    const std::string& dir, const std::string& name) {
  const std::string path = absl::StrCat(dir, "/", name);
  const std::string lock_path = path + ".lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open", lock_path);
  return std::unique_ptr<StateFile>(new StateFile(dir, path, fd));
}

StateFile::StateFile(std::string dir, std::string path, int lock_fd)
    : dir_(std::move(dir)), path_(std::move(path)), lock_fd_(lock_fd) {}

StateFile::~StateFile() {
  absl::MutexLock lock(&mu_);
  close(lock_fd_);
}

absl::Status StateFile::LockLocked(int operation) {
  while (flock(lock_fd_, operation) != 0) {
    if (errno != EINTR) return ErrnoError("cannot lock", path_ + ".lock");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StateFile::LoadLocked() {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return ErrnoError("cannot open", path_);
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  std::string contents;
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read", path_);
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  return contents;
}

absl::Status StateFile::SaveLocked(absl::string_view contents) {
  const std::string temp_path = path_ + ".tmp";
  int fd =
      open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", temp_path);
  absl::Cleanup close_fd = [fd] { close(fd); };
  absl::string_view rest = contents;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", temp_path);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) return ErrnoError("cannot sync", temp_path);
  if (rename(temp_path.c_str(), path_.c_str()) != 0) {
    return ErrnoError("cannot replace", path_);
  }
  // Without this the rename itself may not survive a crash.
  int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

absl::Status StateFile::Read(
    absl::FunctionRef<absl::Status(const std::string&)> read) {
  absl::MutexLock lock(&mu_);
  absl::Status locked = LockLocked(LOCK_SH);
  if (!locked.ok()) return locked;
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<std::string> contents = LoadLocked();
  if (!contents.ok()) return contents.status();
  return read(*contents);
}

absl::Status StateFile::Update(
    absl::FunctionRef<absl::Status(std::string&)> mutate) {
  absl::MutexLock lock(&mu_);
  absl::Status locked = LockLocked(LOCK_EX);
  if (!locked.ok()) return locked;
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<std::string> contents = LoadLocked();
  if (!contents.ok()) return contents.status();
  absl::Status status = mutate(*contents);
  if (!status.ok()) return status;
  return SaveLocked(*contents);
}

}  // namespace pitstop::sdk
