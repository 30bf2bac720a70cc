#include "supervisor/sandbox/instance_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "supervisor/sandbox/pid_file.h"

namespace pitstop {

namespace fs = std::filesystem;

absl::Status DiskInstanceFiles::Prepare(const std::string& dir,
                                        const std::string& working_dir,
                                        const std::string& socket_name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  // run/<name>/ is search only whatever the umask: without a private root
  // the driver's uid reaches its instance directory through it.
  ::chmod(fs::path(dir).parent_path().c_str(), 0711);
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot make ", dir, " private: ", std::strerror(errno)));
  }
  fs::create_directories(working_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", working_dir, ": ", ec.message()));
  }
  fs::remove(fs::path(dir) / socket_name, ec);
  return absl::OkStatus();
}

absl::Status DiskInstanceFiles::RecordPid(const std::string& dir, pid_t pid) {
  const std::string path = (fs::path(dir) / "pid").string();
  if (!WritePidFile(path, pid)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file of pitstopd's"));
  }
  return absl::OkStatus();
}

void DiskInstanceFiles::Remove(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace pitstop
