#include "supervisor/sandbox/keeper_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pitstop {
namespace {

std::string Join(const std::vector<std::string>& v) {
  return absl::StrJoin(v, ",");
}

std::vector<std::string> Split(absl::string_view text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

bool SetField(KeeperRecord& r, absl::string_view key, absl::string_view v) {
  auto num = [&](auto* out) { return absl::SimpleAtoi(v, out); };
  SandboxReport& s = r.sandbox;
  if (key == "driver") {
    r.driver = std::string(v);
  } else if (key == "instance") {
    return num(&r.instance_id);
  } else if (key == "version") {
    r.version = std::string(v);
  } else if (key == "keeper_pid") {
    return num(&r.keeper_pid);
  } else if (key == "driver_pid") {
    return num(&r.driver_pid);
  } else if (key == "start_time") {
    return num(&r.start_time);
  } else if (key == "boot_id") {
    r.boot_id = std::string(v);
  } else if (key == "secret") {
    r.secret_hex = std::string(v);
  } else if (key == "socket") {
    r.socket = std::string(v);
  } else if (key == "sandbox.mode") {
    s.mode = std::string(v);
  } else if (key == "sandbox.namespaces") {
    s.namespaces = Split(v);
  } else if (key == "sandbox.flags") {
    s.private_root = absl::StrContains(v, "private_root");
    s.no_new_privs = absl::StrContains(v, "no_new_privs");
    s.capabilities_dropped = absl::StrContains(v, "capabilities_dropped");
    s.seccomp = absl::StrContains(v, "seccomp");
  } else if (key == "sandbox.uid") {
    return num(&s.uid);
  } else if (key == "sandbox.gid") {
    return num(&s.gid);
  } else if (key == "sandbox.cgroup") {
    s.cgroup = std::string(v);
  } else if (key == "sandbox.memory_limit_bytes") {
    return num(&s.memory_limit_bytes);
  } else if (key == "sandbox.pids_limit") {
    return num(&s.pids_limit);
  } else if (key == "sandbox.rlimits") {
    s.rlimits = Split(v);
  } else if (key == "sandbox.network") {
    s.network = std::string(v);
  } else if (key == "sandbox.gaps") {
    s.gaps = absl::StrSplit(v, '|', absl::SkipEmpty());
  }
  // Unknown keys come from a newer daemon: ignored.
  return true;
}

}  // namespace

std::string FormatKeeperRecord(const KeeperRecord& r) {
  const SandboxReport& s = r.sandbox;
  std::vector<std::string> flags;
  if (s.private_root) flags.push_back("private_root");
  if (s.no_new_privs) flags.push_back("no_new_privs");
  if (s.capabilities_dropped) flags.push_back("capabilities_dropped");
  if (s.seccomp) flags.push_back("seccomp");
  return absl::StrCat(
      "driver=", r.driver, "\ninstance=", r.instance_id,
      "\nversion=", r.version, "\nkeeper_pid=", r.keeper_pid,
      "\ndriver_pid=", r.driver_pid, "\nstart_time=", r.start_time,
      "\nboot_id=", r.boot_id, "\nsecret=", r.secret_hex, "\nsocket=", r.socket,
      "\nsandbox.mode=", s.mode, "\nsandbox.namespaces=", Join(s.namespaces),
      "\nsandbox.flags=", Join(flags), "\nsandbox.uid=", s.uid,
      "\nsandbox.gid=", s.gid, "\nsandbox.cgroup=", s.cgroup,
      "\nsandbox.memory_limit_bytes=", s.memory_limit_bytes,
      "\nsandbox.pids_limit=", s.pids_limit,
      "\nsandbox.rlimits=", Join(s.rlimits), "\nsandbox.network=", s.network,
      "\nsandbox.gaps=", absl::StrJoin(s.gaps, "|"), "\n");
}

absl::StatusOr<KeeperRecord> ParseKeeperRecord(const std::string& text,
                                               const std::string& path) {
  KeeperRecord r;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos ||
        !SetField(r, line.substr(0, eq), line.substr(eq + 1))) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": not a keeper record line"));
    }
  }
  if (r.driver.empty() || r.instance_id == 0 || r.keeper_pid <= 1 ||
      r.start_time == 0 || r.secret_hex.size() != 2 * kKeeperSecretBytes ||
      r.socket.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": an incomplete keeper record"));
  }
  return r;
}

absl::Status WriteKeeperRecord(const std::string& path,
                               const KeeperRecord& record) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  const std::string text = FormatKeeperRecord(record);
  // No fsync: the record must outlive the daemon, not the machine (after a
  // reboot the boot id refuses it anyway), and the page cache does that.
  const bool ok = ::write(fd, text.data(), text.size()) ==
                  static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<KeeperRecord> ReadKeeperRecord(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != ::geteuid() || (st.st_mode & 077) != 0 ||
      st.st_size > 64 * 1024) {
    if (fd >= 0) ::close(fd);
    return absl::PermissionDeniedError(absl::StrCat(
        path, " is not a keeper record of this daemon's user (mode 0600)"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != st.st_size) {
    return absl::InternalError(absl::StrCat("cannot read ", path));
  }
  return ParseKeeperRecord(text, path);
}

std::string CurrentBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return std::string(absl::StripAsciiWhitespace(id));
}

uint64_t ProcessStartTime(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: fields are
  // counted after its last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
  // Field 3 (state) is fields[0]; field 22 is fields[19].
  uint64_t start = 0;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &start)) return 0;
  return start;
}

}  // namespace pitstop
