#include "supervisor/sandbox/pid_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

// Opens `path` without following a symlink or blocking on a FIFO, and keeps
// it only if it is a regular file owned by this process's user.
int OpenOurs(const std::string& path, int flags) {
  const int fd =
      ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != ::geteuid()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool WritePidFile(const std::string& path, pid_t pid) {
  const int fd = OpenOurs(path, O_WRONLY | O_CREAT);
  if (fd < 0) return false;
  const std::string text = absl::StrCat(pid, "\n");
  const bool ok =
      ::ftruncate(fd, 0) == 0 && ::write(fd, text.data(), text.size()) ==
                                     static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

pid_t ReadPidFile(const std::string& path) {
  const int fd = OpenOurs(path, O_RDONLY);
  if (fd < 0) return 0;
  char buf[32];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(buf, n)),
                        &pid) ||
      pid <= 1) {
    return 0;
  }
  return pid;
}

}  // namespace pitstop
