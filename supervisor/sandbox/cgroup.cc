#include "supervisor/sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool MakeDir(const std::string& path) {
  return ::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST;
}

absl::Status WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  if (!out) {
    return absl::UnavailableError(absl::StrCat(
        "cannot write '", text, "' to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of `key` in a "key value" per line file (memory.events,
// memory.oom_control).
uint64_t KeyedValue(const std::string& text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v = 0;
    if (parts.size() == 2 && parts[0] == key && absl::SimpleAtoi(parts[1], &v))
      return v;
  }
  return 0;
}

}  // namespace

CgroupSupport DetectCgroups(const std::string& fs) {
  CgroupSupport s;
  if (Exists(fs + "/cgroup.controllers")) {
    const std::string controllers = ReadFile(fs + "/cgroup.controllers");
    if (!absl::StrContains(controllers, "memory") ||
        !absl::StrContains(controllers, "pids")) {
      s.why_not = absl::StrCat("cgroup v2 at ", fs,
                               " lacks the memory or pids controller");
      return s;
    }
    const std::string root = fs + "/pitstop";
    if (!MakeDir(root) ||
        !WriteFile(fs + "/cgroup.subtree_control", "+memory +pids").ok() ||
        !WriteFile(root + "/cgroup.subtree_control", "+memory +pids").ok()) {
      s.why_not = absl::StrCat("cannot create ", root,
                               " with the memory and pids controllers (",
                               std::strerror(errno), ")");
      return s;
    }
    s.version = CgroupVersion::kV2;
    s.roots = {root};
    return s;
  }
  const std::string memory = fs + "/memory", pids = fs + "/pids";
  if (!Exists(memory + "/memory.limit_in_bytes") ||
      !Exists(pids + "/cgroup.procs")) {
    s.why_not = absl::StrCat("no cgroup v2 at ", fs,
                             " and no v1 memory and pids hierarchies");
    return s;
  }
  for (const std::string& root : {memory + "/pitstop", pids + "/pitstop"}) {
    if (!MakeDir(root)) {
      s.why_not =
          absl::StrCat("cannot create ", root, ": ", std::strerror(errno));
      s.roots.clear();
      return s;
    }
    s.roots.push_back(root);
  }
  s.version = CgroupVersion::kV1;
  return s;
}

void RemoveStaleCgroups(const CgroupSupport& support) {
  std::error_code ec;
  for (const std::string& root : support.roots) {
    for (const auto& driver : fs::directory_iterator(root, ec)) {
      if (!driver.is_directory(ec)) continue;
      for (const auto& leaf : fs::directory_iterator(driver.path(), ec)) {
        const std::string name = leaf.path().filename().string();
        int pid = 0;
        if (!leaf.is_directory(ec) || name.find('-') == std::string::npos ||
            !absl::SimpleAtoi(name.substr(0, name.find('-')), &pid) ||
            pid <= 0) {
          continue;
        }
        if (::kill(pid, 0) != 0 && errno == ESRCH) {
          ::rmdir(leaf.path().c_str());
        }
      }
      ::rmdir(driver.path().c_str());  // only when empty
    }
  }
}

absl::StatusOr<InstanceCgroup> InstanceCgroup::Create(
    const CgroupSupport& support, const std::string& driver,
    const std::string& leaf, uint64_t memory_bytes, uint32_t pids) {
  InstanceCgroup g;
  g.version_ = support.version;
  g.name_ = absl::StrCat("pitstop/", driver, "/", leaf);
  if (support.version == CgroupVersion::kNone) {
    return absl::UnavailableError(support.why_not);
  }
  for (const std::string& root : support.roots) {
    const std::string parent = absl::StrCat(root, "/", driver);
    if (!MakeDir(parent)) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", parent, ": ", std::strerror(errno)));
    }
    if (support.version == CgroupVersion::kV2) {
      (void)WriteFile(parent + "/cgroup.subtree_control", "+memory +pids");
    }
    const std::string dir = absl::StrCat(parent, "/", leaf);
    // Another daemon's start-up sweep may have removed the empty parent.
    if (!MakeDir(dir) && errno == ENOENT && MakeDir(parent)) MakeDir(dir);
    if (!Exists(dir)) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
    }
    g.dirs_.push_back(dir);
  }
  auto cleanup_on_error = [&g](absl::Status s) {
    g.Remove();
    return s;
  };
  if (support.version == CgroupVersion::kV2) {
    const std::string& d = g.dirs_[0];
    if (memory_bytes > 0) {
      if (auto s = WriteFile(d + "/memory.max", absl::StrCat(memory_bytes));
          !s.ok())
        return cleanup_on_error(s);
      // Swap would only delay the limit.
      if (Exists(d + "/memory.swap.max"))
        (void)WriteFile(d + "/memory.swap.max", "0");
    }
    if (pids > 0) {
      if (auto s = WriteFile(d + "/pids.max", absl::StrCat(pids)); !s.ok())
        return cleanup_on_error(s);
    }
    return g;
  }
  const std::string& mem = g.dirs_[0];
  const std::string& pid = g.dirs_[1];
  if (memory_bytes > 0) {
    if (auto s = WriteFile(mem + "/memory.limit_in_bytes",
                           absl::StrCat(memory_bytes));
        !s.ok())
      return cleanup_on_error(s);
    if (Exists(mem + "/memory.memsw.limit_in_bytes"))
      (void)WriteFile(mem + "/memory.memsw.limit_in_bytes",
                      absl::StrCat(memory_bytes));
    (void)WriteFile(mem + "/memory.swappiness", "0");
  }
  if (pids > 0) {
    if (auto s = WriteFile(pid + "/pids.max", absl::StrCat(pids)); !s.ok())
      return cleanup_on_error(s);
  }
  return g;
}

absl::Status InstanceCgroup::AddProcess(pid_t pid) const {
  for (const std::string& d : dirs_) {
    if (auto s = WriteFile(d + "/cgroup.procs", absl::StrCat(pid)); !s.ok())
      return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> InstanceCgroup::OpenSelfEntry() const {
  std::vector<int> fds;
  if (version_ != CgroupVersion::kV1) return fds;
  for (const std::string& d : dirs_) {
    const std::string tasks = d + "/tasks";
    const int fd = ::open(tasks.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      for (int open_fd : fds) ::close(open_fd);
      return absl::UnavailableError(
          absl::StrCat("cannot open ", tasks, ": ", std::strerror(err)));
    }
    fds.push_back(fd);
  }
  return fds;
}

bool InstanceCgroup::OomKilled() const {
  if (dirs_.empty()) return false;
  if (version_ == CgroupVersion::kV2) {
    return KeyedValue(ReadFile(dirs_[0] + "/memory.events"), "oom_kill") > 0;
  }
  const std::string oom = ReadFile(dirs_[0] + "/memory.oom_control");
  if (absl::StrContains(oom, "oom_kill ")) {
    return KeyedValue(oom, "oom_kill") > 0;
  }
  // Kernels before 4.13 do not count kills; the limit was at least hit.
  uint64_t failcnt = 0;
  return absl::SimpleAtoi(
             absl::StripAsciiWhitespace(ReadFile(dirs_[0] + "/memory.failcnt")),
             &failcnt) &&
         failcnt > 0;
}

bool InstanceCgroup::Remove() {
  std::vector<std::string> left;
  for (const std::string& d : dirs_) {
    if (::rmdir(d.c_str()) != 0 && errno != ENOENT) left.push_back(d);
  }
  dirs_ = std::move(left);
  return dirs_.empty();
}

std::string InstanceCgroup::Describe() const {
  return absl::StrCat(version_ == CgroupVersion::kV2 ? "v2 " : "v1 ", name_);
}

}  // namespace pitstop
