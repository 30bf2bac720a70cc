#include "supervisor/sandbox/leftovers.h"

#include <signal.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"
#include "supervisor/sandbox/pid_file.h"

namespace pitstop {

namespace fs = std::filesystem;

void KillLeftovers(const std::string& state_dir, const std::set<pid_t>& keep) {
  std::error_code ec;
  const std::string packages =
      fs::weakly_canonical(fs::path(state_dir) / "packages", ec).string();
  // Exactly run/<driver>/<instance>/pid: an instance directory may belong
  // to its driver, so nothing deeper is looked at, and the pid file must be
  // a regular file of ours (ReadPidFile).
  for (const auto& driver :
       fs::directory_iterator(fs::path(state_dir) / "run", ec)) {
    if (!driver.is_directory(ec) || driver.is_symlink(ec)) continue;
    std::error_code inner_ec;
    for (const auto& instance : fs::directory_iterator(driver, inner_ec)) {
      if (!instance.is_directory(inner_ec) || instance.is_symlink(inner_ec)) {
        continue;
      }
      const pid_t pid = ReadPidFile((instance.path() / "pid").string());
      if (pid <= 1 || keep.count(pid) > 0) continue;
      std::error_code exe_ec;
      const std::string exe =
          fs::read_symlink(absl::StrCat("/proc/", pid, "/exe"), exe_ec)
              .string();
      // A sandboxed driver sees its CAR at /driver, in a PID namespace of
      // its own (killing it ends the namespace).
      std::error_code ns_ec;
      const bool sandboxed =
          !exe_ec && absl::StartsWith(exe, "/driver/") &&
          fs::read_symlink(absl::StrCat("/proc/", pid, "/ns/pid"), ns_ec) !=
              fs::read_symlink("/proc/self/ns/pid", ns_ec);
      if (exe_ec || (!absl::StartsWith(exe, packages) && !sandboxed)) continue;
      LogWarning("pitstopd",
                 "killing a driver process left by an earlier daemon",
                 {{"pid", std::to_string(pid)}, {"exe", exe}});
      ::kill(pid, SIGKILL);
    }
  }
}

}  // namespace pitstop
