#include "supervisor/sandbox/child_process_manager.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "supervisor/common/check.h"
#include "supervisor/common/logging.h"
#include "supervisor/sandbox/cgroup.h"
#include "supervisor/sandbox/sandbox_child.h"
#include "supervisor/sandbox/seccomp_filter.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// Longer lines are delivered in pieces of this size.
constexpr size_t kMaxLine = 8192;

// Where the sandbox puts things in a driver's private root.
constexpr char kDriverRoot[] = "/driver";
constexpr char kDataDir[] = "/data";
constexpr char kSocketDir[] = "/run/pitstop";

enum Kind : uint64_t { kWake = 0, kStdout = 1, kStderr = 2, kPidfd = 3 };

uint64_t Key(pid_t pid, Kind kind) {
  return (static_cast<uint64_t>(pid) << 2) | kind;
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

void CloseIf(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Host path prefixes and where they appear inside the private root.
class PathMap {
 public:
  void Add(const std::string& host, const std::string& inside) {
    if (!host.empty()) map_.emplace_back(host, inside);
  }
  std::string Path(const std::string& p) const {
    for (const auto& [host, inside] : map_) {
      if (p == host) return inside;
      if (absl::StartsWith(p, host) && p[host.size()] == '/') {
        return inside + p.substr(host.size());
      }
    }
    return p;
  }
  // "KEY=a:b" with each element mapped.
  std::string Env(const std::string& kv) const {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return kv;
    std::vector<std::string> parts = absl::StrSplit(kv.substr(eq + 1), ':');
    for (std::string& part : parts) part = Path(part);
    return absl::StrCat(kv.substr(0, eq + 1), absl::StrJoin(parts, ":"));
  }

 private:
  std::vector<std::pair<std::string, std::string>> map_;
};

uint32_t Fnv1a(absl::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

int CapLast() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int v = 40;
  in >> v;
  return v;
}

// Makes `dir` and what is under it owned by uid:gid, walking the tree only
// when the top is not already.
void ChownTree(const std::string& dir, uid_t uid, gid_t gid) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return;
  if (st.st_uid == uid && st.st_gid == gid) return;
  ::chown(dir.c_str(), uid, gid);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    ::lchown(it->path().c_str(), uid, gid);
  }
}

// The first directory on the way to one of `paths` (or the path itself)
// that other users may not search; empty when all are open.
std::string FirstClosedDirectory(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    fs::path walk = "/";
    for (const fs::path& part : fs::path(path).relative_path()) {
      walk /= part;
      struct stat st;
      if (::stat(walk.c_str(), &st) != 0) break;  // created later, as needed
      if (S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH) == 0) {
        return absl::StrFormat("%s (mode %04o)", walk.string(),
                               st.st_mode & 07777);
      }
    }
  }
  return "";
}

std::string MiB(uint64_t bytes) {
  return absl::StrCat(bytes / (1024 * 1024), " MiB");
}

}  // namespace

struct ChildProcessManager::Child {
  pid_t pid = 0;
  int pidfd = -1;
  int out_fd = -1;
  int err_fd = -1;
  int status_fd = -1;  // the sandbox init's report of the driver's status
  std::string out_partial;
  std::string err_partial;
  OutputHandler on_output;
  ExitHandler on_exit;
  SandboxReport report;
  InstanceCgroup cgroup;
  // Output rate limit (drivers only): lines in the current second, lines
  // dropped.
  bool rate_limited = false;
  absl::Time window_start;
  int window_lines = 0;
  uint64_t dropped = 0;
};

class ChildProcessManager::Impl {
 public:
  explicit Impl(SandboxOptions options) : options_(std::move(options)) {
    if (!options_.scratch_dir.empty()) {
      std::error_code ec;
      fs::create_directories(options_.scratch_dir, ec);
      root_mount_ = (fs::path(options_.scratch_dir) / "root").string();
      fs::create_directories(root_mount_, ec);
      ::chmod(root_mount_.c_str(), 0755);
      host_ = DetectHostSandboxSupport(root_mount_);
    } else {
      host_ = DetectHostSandboxSupport("");
    }
    if (host_.seccomp) {
      auto program = BuildDriverSeccompFilter();
      if (program.ok()) {
        seccomp_ = *std::move(program);
      } else {
        host_.seccomp = false;
        host_.seccomp_why_not = std::string(program.status().message());
      }
    }
    if (host_.cgroups.version != CgroupVersion::kNone) {
      RemoveStaleCgroups(host_.cgroups);
    }
    cap_last_ = CapLast();
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(epoll_fd_ >= 0 && wake_fd_ >= 0);
    Watch(wake_fd_, Key(0, kWake));
    thread_ = std::thread([this] { Loop(); });
  }

  ~Impl() {
    std::map<pid_t, std::unique_ptr<Child>> remaining;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (auto& [pid, child] : children_)
        PidfdSendSignal(child->pidfd, SIGKILL);
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
    {
      absl::MutexLock lock(&mu_);
      remaining.swap(children_);
    }
    for (auto& [pid, child] : remaining) {
      siginfo_t info{};
      ::waitid(P_PIDFD, child->pidfd, &info, WEXITED);
      CloseFds(*child);
      RemoveCgroup(child->cgroup);
    }
    RetryStaleCgroups();
    ::close(epoll_fd_);
    ::close(wake_fd_);
  }

  const HostSandboxSupport& host() const { return host_; }

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec, OutputHandler on_output,
                               ExitHandler on_exit) {
    // Serialized so that no other child is between clone and closing its
    // inherited descriptors while this one's pipes are open.
    absl::MutexLock launch_lock(&launch_mu_);
    const absl::Time t_start = absl::Now();
    RetryStaleCgroups();
    auto child = std::make_unique<Child>();
    ChildPlan plan;
    uint64_t clone_flags = 0;
    if (spec.sandbox.enabled) {
      absl::Status planned = PlanSandbox(spec, plan, clone_flags, *child);
      if (!planned.ok()) {
        RemoveCgroup(child->cgroup);
        return planned;
      }
    } else {
      plan.exe = spec.executable;
      plan.argv_storage.push_back(spec.executable);
      for (const std::string& a : spec.args) plan.argv_storage.push_back(a);
      plan.envp_storage = spec.env;
      plan.working_dir = spec.working_dir.empty() ? "/" : spec.working_dir;
      child->report.mode = "off";
    }
    plan.Seal();

    int out[2] = {-1, -1}, err[2] = {-1, -1}, sync[2] = {-1, -1},
        error[2] = {-1, -1}, status[2] = {-1, -1};
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    bool ok = null_fd >= 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
              ::pipe2(err, O_CLOEXEC) == 0 && ::pipe2(sync, O_CLOEXEC) == 0 &&
              ::pipe2(error, O_CLOEXEC) == 0 &&
              (!plan.init || ::pipe2(status, O_CLOEXEC) == 0);
    auto close_all = [&] {
      for (int* fd : {&null_fd, &out[0], &out[1], &err[0], &err[1], &sync[0],
                      &sync[1], &error[0], &error[1], &status[0], &status[1]})
        CloseIf(*fd);
    };
    if (!ok) {
      const std::string why = std::strerror(errno);
      close_all();
      RemoveCgroup(child->cgroup);
      return absl::InternalError(
          absl::StrCat("cannot start ", spec.executable, ": pipes: ", why));
    }
    plan.null_fd = null_fd;
    plan.out_fd = out[1];
    plan.err_fd = err[1];
    plan.sync_fd = sync[0];
    plan.error_fd = error[1];
    plan.status_fd = status[1];

    const absl::Time t_clone = absl::Now();
    int pidfd = -1;
    const long pid = CloneProcess(clone_flags, &pidfd);
    const absl::Time t_cloned = absl::Now();
    if (pid == 0) RunSandboxChild(plan);
    const int clone_errno = errno;
    for (int* fd :
         {&null_fd, &out[1], &err[1], &sync[0], &error[1], &status[1]})
      CloseIf(*fd);
    if (pid < 0) {
      close_all();
      RemoveCgroup(child->cgroup);
      return absl::InternalError(
          absl::StrCat("cannot start ", spec.executable,
                       ": clone: ", std::strerror(clone_errno)));
    }
    child->pid = static_cast<pid_t>(pid);
    child->pidfd = pidfd;
    auto abort_child = [&](absl::Status why) {
      PidfdSendSignal(pidfd, SIGKILL);
      siginfo_t info{};
      ::waitid(P_PIDFD, pidfd, &info, WEXITED);
      close_all();
      CloseIf(child->pidfd);
      RemoveCgroup(child->cgroup);
      return why;
    };
    if (!child->cgroup.empty()) {
      if (absl::Status s = child->cgroup.AddProcess(child->pid); !s.ok()) {
        return abort_child(absl::UnavailableError(
            absl::StrCat("driver ", spec.sandbox.driver,
                         ": cannot enter its cgroup: ", s.message())));
      }
    }
    // The child reports "R" once set up (or "E..." on failure); it goes on
    // when told, then until exec (or a failure before it).
    std::string report;
    char buf[512];
    bool told = false;
    absl::Time t_ready = absl::Now();
    while (true) {
      if (!told && !report.empty()) {
        if (report[0] == 'R') {
          t_ready = absl::Now();
          report.erase(0, 1);
          const char go = 'g';
          [[maybe_unused]] ssize_t w = ::write(sync[1], &go, 1);
        }
        CloseIf(sync[1]);
        told = true;
      }
      ssize_t n = ::read(error[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      report.append(buf, static_cast<size_t>(n));
    }
    CloseIf(sync[1]);
    CloseIf(error[0]);
    if (!report.empty() && report[0] == 'E') {
      const std::string failure = report.substr(1);
      int child_errno = 0;
      if (failure.size() >= sizeof child_errno)
        std::memcpy(&child_errno, failure.data(), sizeof child_errno);
      const std::string what = failure.substr(sizeof child_errno);
      absl::StatusCode code = absl::StatusCode::kInternal;
      if (child_errno == ENOENT) code = absl::StatusCode::kNotFound;
      if (child_errno == EACCES) code = absl::StatusCode::kPermissionDenied;
      const std::string exec_what = plan.exe;
      return abort_child(absl::Status(
          code, absl::StrCat("cannot start ", spec.executable,
                             what == exec_what ? "" : absl::StrCat(": ", what),
                             ": ", std::strerror(child_errno))));
    }
    if (spec.sandbox.enabled) {
      const absl::Time t_exec = absl::Now();
      Log(LogLevel::kDebug, "sandbox", "driver launched",
          {{"driver", spec.sandbox.driver},
           {"prepare_ms",
            absl::StrCat(absl::ToDoubleMilliseconds(t_clone - t_start))},
           {"clone_ms",
            absl::StrCat(absl::ToDoubleMilliseconds(t_cloned - t_clone))},
           {"setup_ms",
            absl::StrCat(absl::ToDoubleMilliseconds(t_ready - t_cloned))},
           {"exec_ms",
            absl::StrCat(absl::ToDoubleMilliseconds(t_exec - t_ready))}});
    }
    child->out_fd = out[0];
    child->err_fd = err[0];
    child->status_fd = status[0];
    for (int fd : {child->out_fd, child->err_fd, child->status_fd}) {
      if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    child->on_output = std::move(on_output);
    child->on_exit = std::move(on_exit);
    child->window_start = absl::Now();
    child->rate_limited = spec.sandbox.enabled;
    if (!child->report.gaps.empty()) {
      LogWarning("sandbox",
                 absl::StrCat("driver ", spec.sandbox.driver,
                              " runs without some protections: ",
                              absl::StrJoin(child->report.gaps, "; ")),
                 {{"driver", spec.sandbox.driver}});
    }
    // With an init in between, callers know the process by the driver's own
    // pid (what `ps` shows); signals still go to the init, which forwards
    // them, or ends the namespace on SIGKILL.
    pid_t child_pid = child->pid;
    if (plan.init) {
      std::ifstream kids(absl::StrCat("/proc/", child->pid, "/task/",
                                      child->pid, "/children"));
      pid_t driver_pid = 0;
      if (kids >> driver_pid && driver_pid > 0) child_pid = driver_pid;
    }
    {
      absl::MutexLock lock(&mu_);
      if (children_.count(child_pid) > 0) child_pid = child->pid;
      child->pid = child_pid;
      Watch(child->pidfd, Key(child_pid, kPidfd));
      Watch(child->out_fd, Key(child_pid, kStdout));
      Watch(child->err_fd, Key(child_pid, kStderr));
      children_[child_pid] = std::move(child);
    }
    return child_pid;
  }

  absl::Status Signal(pid_t pid, int signal) {
    absl::MutexLock lock(&mu_);
    auto it = children_.find(pid);
    if (it == children_.end() ||
        PidfdSendSignal(it->second->pidfd, signal) != 0) {
      return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
    }
    return absl::OkStatus();
  }

  SandboxReport Protections(pid_t pid) {
    absl::MutexLock lock(&mu_);
    auto it = children_.find(pid);
    if (it == children_.end()) {
      SandboxReport off;
      off.mode = "off";
      return off;
    }
    return it->second->report;
  }

  size_t LiveChildren() {
    absl::MutexLock lock(&mu_);
    return children_.size();
  }

 private:
  uint32_t UidFor(const std::string& driver) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = uids_.find(driver);
    if (it != uids_.end()) return it->second;
    const uint32_t count = std::max<uint32_t>(options_.uid_count, 1);
    uint32_t index = Fnv1a(driver) % count;
    std::set<uint32_t> used;
    for (const auto& [name, uid] : uids_) used.insert(uid);
    for (uint32_t i = 0; i < count && used.count(options_.uid_base + index);
         ++i)
      index = (index + 1) % count;
    const uint32_t uid = options_.uid_base + index;
    uids_[driver] = uid;
    return uid;
  }

  // Builds the plan for a sandboxed driver and fills the child's report
  // and cgroup. FAILED_PRECONDITION when strict and something is missing.
  absl::Status PlanSandbox(const LaunchSpec& spec, ChildPlan& plan,
                           uint64_t& clone_flags, Child& child) {
    const SandboxSpec& sb = spec.sandbox;
    SandboxReport& r = child.report;
    r.mode = options_.mode == SandboxMode::kStrict ? "strict" : "best-effort";
    PathMap paths;
    const std::string R = root_mount_;
    if (host_.namespaces) {
      clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
      r.namespaces = {"mnt", "pid", "ipc", "uts"};
      if (!sb.host_network) {
        clone_flags |= CLONE_NEWNET;
        r.namespaces.push_back("net");
      }
      r.network = sb.host_network ? "host" : "none";
      r.private_root = true;
      plan.init = true;
      plan.new_root = R;
      plan.hostname = sb.driver;
      paths.Add(sb.package_dir, kDriverRoot);
      paths.Add(sb.data_dir, kDataDir);
      paths.Add(sb.socket_dir, kSocketDir);
      AddRootOps(sb, plan);
    } else {
      r.network = "host";
      r.gaps.push_back(absl::StrCat("namespaces and private root: ",
                                    host_.namespaces_why_not));
    }
    // Without a private root the driver reaches its files by their host
    // paths: another uid can only if every directory above them lets it.
    const std::string unreachable =
        host_.root && !r.private_root
            ? FirstClosedDirectory(
                  {sb.package_dir,
                   // These two become the driver's own.
                   fs::path(sb.data_dir).parent_path().string(),
                   fs::path(sb.socket_dir).parent_path().string()})
            : "";
    if (!unreachable.empty()) {
      plan.drop_caps = true;
      plan.cap_last = cap_last_;
      // Without CAP_DAC_OVERRIDE, uid 0 needs to own them (they may be a
      // dedicated uid's from an earlier start).
      ChownTree(sb.data_dir, 0, 0);
      ::chown(sb.socket_dir.c_str(), 0, 0);
      r.uid = r.gid = 0;
      r.capabilities_dropped = true;
      r.gaps.push_back(absl::StrCat(
          "dedicated uid: without a private root the driver needs its host "
          "paths, and ",
          unreachable,
          " is closed to other users, so it keeps uid 0 (with no "
          "capabilities)"));
    } else if (host_.root) {
      const uint32_t uid = UidFor(sb.driver);
      plan.set_ids = true;
      plan.uid = uid;
      plan.gid = uid;
      plan.cap_last = cap_last_;
      r.uid = r.gid = uid;
      r.capabilities_dropped = true;
      // Shared by every instance of the driver (versions side by side).
      ChownTree(sb.data_dir, uid, uid);
      ::chmod(sb.data_dir.c_str(), 0700);
      ::chown(sb.socket_dir.c_str(), uid, uid);
      ::chmod(sb.socket_dir.c_str(), 0700);
      // Root's, written by the supervisor once the driver runs.
      std::ofstream(fs::path(sb.socket_dir) / "pid").flush();
    } else {
      r.uid = ::getuid();
      r.gid = ::getgid();
      r.capabilities_dropped = host_.capabilities_empty;
      r.gaps.push_back(absl::StrCat(
          "dedicated uid: the daemon is not root; the driver runs as uid ",
          r.uid));
    }
    plan.no_new_privs = true;
    r.no_new_privs = true;
    if (host_.seccomp) {
      plan.seccomp.len = static_cast<unsigned short>(seccomp_.size());
      plan.seccomp.filter = seccomp_.data();
      r.seccomp = true;
    } else {
      r.gaps.push_back(absl::StrCat("seccomp: ", host_.seccomp_why_not));
    }
    bool memory_limited = false;
    if (host_.cgroups.version != CgroupVersion::kNone) {
      auto group =
          InstanceCgroup::Create(host_.cgroups, sb.driver,
                                 absl::StrCat(::getpid(), "-", sb.instance_id),
                                 sb.memory_bytes, sb.pids);
      if (group.ok()) {
        child.cgroup = *std::move(group);
        r.cgroup = child.cgroup.Describe();
        r.memory_limit_bytes = sb.memory_bytes;
        r.pids_limit = sb.pids;
        memory_limited = sb.memory_bytes > 0;
      } else {
        r.gaps.push_back(absl::StrCat("cgroup memory and pids limits: ",
                                      group.status().message()));
      }
    } else {
      r.gaps.push_back(absl::StrCat("cgroup memory and pids limits: ",
                                    host_.cgroups.why_not));
    }
    auto limit = [&](int resource, const char* name, uint64_t value) {
      rlimit l{};
      l.rlim_cur = l.rlim_max = value;
      plan.rlimits.emplace_back(resource, l);
      r.rlimits.push_back(absl::StrCat(name, "=", value));
    };
    if (sb.open_files > 0) limit(RLIMIT_NOFILE, "nofile", sb.open_files);
    limit(RLIMIT_CORE, "core", 0);
    // Counted per uid, across the instances of one driver.
    if (plan.set_ids && sb.pids > 0) {
      limit(RLIMIT_NPROC, "nproc", 2 * sb.pids);
    }
    // Without a cgroup, a backstop against runaway mappings.
    if (!memory_limited && sb.memory_bytes > 0) {
      limit(RLIMIT_AS, "as", sb.memory_bytes + (uint64_t{4} << 30));
    }
    if (options_.mode == SandboxMode::kStrict && !r.gaps.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "driver ", sb.driver,
          " refused: the sandbox is strict and these protections cannot be "
          "applied on this host: ",
          absl::StrJoin(r.gaps, "; "),
          ". Run pitstopd as root on a host that allows them, or set "
          "`sandbox: best-effort` in the daemon configuration"));
    }
    plan.exe = paths.Path(spec.executable);
    plan.argv_storage.push_back(plan.exe);
    for (const std::string& a : spec.args)
      plan.argv_storage.push_back(paths.Path(a));
    for (const std::string& kv : spec.env)
      plan.envp_storage.push_back(paths.Env(kv));
    if (r.private_root) plan.envp_storage.push_back("TMPDIR=/tmp");
    plan.working_dir =
        paths.Path(spec.working_dir.empty() ? sb.data_dir : spec.working_dir);
    if (plan.working_dir.empty()) plan.working_dir = "/";
    return absl::OkStatus();
  }

  void AddRootOps(const SandboxSpec& sb, ChildPlan& plan) {
    using Op = ChildPlan::Op;
    const std::string R = root_mount_;
    auto op = [&plan](Op::Kind kind, std::string a, std::string b = "",
                      std::string fstype = "", unsigned long flags = 0,
                      std::string data = "") {
      Op o;
      o.kind = kind;
      o.what = absl::StrCat(kind == Op::kMount   ? "mount "
                            : kind == Op::kMkdir ? "mkdir "
                            : kind == Op::kTouch ? "create "
                                                 : "symlink ",
                            a, b.empty() ? "" : " on ", b);
      o.a = std::move(a);
      o.b = std::move(b);
      o.fstype = std::move(fstype);
      o.flags = flags;
      o.data = std::move(data);
      plan.ops.push_back(std::move(o));
    };
    const unsigned long kRo =
        MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
    auto bind = [&](const std::string& src, const std::string& dst,
                    unsigned long remount) {
      op(Op::kMount, src, dst, "", MS_BIND | MS_REC);
      op(Op::kMount, "", dst, "", remount);
    };
    op(Op::kMount, "", "/", "", MS_REC | MS_PRIVATE);
    op(Op::kMount, "tmpfs", R, "tmpfs", MS_NOSUID | MS_NODEV,
       "mode=0755,size=1m");
    // The host's system directories, read-only (merged /usr: symlinks).
    for (const char* d :
         {"usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin"}) {
      const std::string host = absl::StrCat("/", d);
      std::error_code ec;
      auto st = fs::symlink_status(host, ec);
      if (ec) continue;
      if (fs::is_symlink(st)) {
        op(Op::kSymlink, fs::read_symlink(host, ec).string(),
           absl::StrCat(R, "/", d));
      } else if (fs::is_directory(st)) {
        op(Op::kMkdir, absl::StrCat(R, "/", d));
        bind(host, absl::StrCat(R, "/", d), kRo);
      }
    }
    // Just what the loader, name resolution and TLS need from /etc.
    op(Op::kMkdir, R + "/etc");
    for (const char* f :
         {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime",
          "nsswitch.conf", "hosts", "resolv.conf", "gai.conf", "services",
          "protocols", "ssl", "ca-certificates", "alternatives"}) {
      const std::string host = absl::StrCat("/etc/", f);
      const std::string inside = absl::StrCat(R, "/etc/", f);
      std::error_code ec;
      auto st = fs::status(host, ec);  // follows symlinks
      if (ec) continue;
      if (fs::is_directory(st)) {
        op(Op::kMkdir, inside);
      } else if (fs::is_regular_file(st)) {
        op(Op::kTouch, inside);
      } else {
        continue;
      }
      bind(host, inside, kRo);
    }
    op(Op::kMkdir, R + kDriverRoot);
    bind(sb.package_dir, R + kDriverRoot, kRo);
    op(Op::kMkdir, R + kDataDir);
    bind(sb.data_dir, R + kDataDir,
         MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV);
    op(Op::kMkdir, R + "/run");
    op(Op::kMkdir, R + kSocketDir);
    bind(sb.socket_dir, R + kSocketDir,
         MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    // The daemon's record of the driver's pid lives in this directory; the
    // driver may not rewrite it (a restarted daemon kills what it names).
    op(Op::kMount, sb.socket_dir + "/pid", R + kSocketDir + "/pid", "",
       MS_BIND);
    op(Op::kMount, "", R + kSocketDir + "/pid", "", kRo);
    op(Op::kMkdir, R + "/tmp");
    op(Op::kMount, "tmpfs", R + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
       "mode=1777,size=64m");
    op(Op::kMkdir, R + "/dev");
    op(Op::kMount, "tmpfs", R + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
       "mode=0755,size=64k");
    for (const char* d : {"null", "zero", "full", "random", "urandom"}) {
      op(Op::kTouch, absl::StrCat(R, "/dev/", d));
      op(Op::kMount, absl::StrCat("/dev/", d), absl::StrCat(R, "/dev/", d), "",
         MS_BIND);
    }
    op(Op::kSymlink, "/proc/self/fd", R + "/dev/fd");
    op(Op::kSymlink, "/proc/self/fd/0", R + "/dev/stdin");
    op(Op::kSymlink, "/proc/self/fd/1", R + "/dev/stdout");
    op(Op::kSymlink, "/proc/self/fd/2", R + "/dev/stderr");
    op(Op::kMkdir, R + "/dev/shm");
    op(Op::kMount, "tmpfs", R + "/dev/shm", "tmpfs",
       MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=16m");
    op(Op::kMkdir, R + "/proc");
    op(Op::kMount, "proc", R + "/proc", "proc",
       MS_NOSUID | MS_NODEV | MS_NOEXEC);
  }

  void RemoveCgroup(InstanceCgroup& group) {
    if (group.empty() || group.Remove()) return;
    // Processes of the namespace are still being torn down.
    absl::MutexLock lock(&stale_mu_);
    stale_cgroups_.push_back(std::move(group));
  }

  void RetryStaleCgroups() {
    absl::MutexLock lock(&stale_mu_);
    std::vector<InstanceCgroup> left;
    for (InstanceCgroup& g : stale_cgroups_) {
      if (!g.Remove()) left.push_back(std::move(g));
    }
    stale_cgroups_ = std::move(left);
  }

  void Watch(int fd, uint64_t key) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
  }

  static void CloseFds(Child& c) {
    for (int* fd : {&c.pidfd, &c.out_fd, &c.err_fd, &c.status_fd}) CloseIf(*fd);
  }

  Child* Find(pid_t pid) {
    absl::MutexLock lock(&mu_);
    auto it = children_.find(pid);
    return it == children_.end() ? nullptr : it->second.get();
  }

  // Reads what the pipe holds now; closes it at end of file. Only the
  // monitor thread touches a child's pipes and buffers.
  void Drain(Child& c, OutputStream stream) {
    int& fd = stream == OutputStream::kStdout ? c.out_fd : c.err_fd;
    std::string& partial =
        stream == OutputStream::kStdout ? c.out_partial : c.err_partial;
    char buf[16 * 1024];
    while (fd >= 0) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        fd = -1;
        break;
      }
      partial.append(buf, n);
      size_t start = 0;
      for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        Emit(c, stream, absl::string_view(partial).substr(start, nl - start));
      }
      partial.erase(0, start);
      while (partial.size() >= kMaxLine) {
        Emit(c, stream, absl::string_view(partial).substr(0, kMaxLine));
        partial.erase(0, kMaxLine);
      }
    }
    if (!partial.empty()) {
      Emit(c, stream, partial);
      partial.clear();
    }
  }

  static void Emit(Child& c, OutputStream stream, absl::string_view line) {
    if (!c.on_output) return;
    if (!c.rate_limited) {
      c.on_output(stream, line);
      return;
    }
    const absl::Time now = absl::Now();
    if (now - c.window_start >= absl::Seconds(1)) {
      if (c.dropped > 0) {
        c.on_output(OutputStream::kStderr,
                    absl::StrCat("pitstop: ", c.dropped,
                                 " lines of output dropped (more than ",
                                 kMaxLinesPerSecond, " lines a second)"));
      }
      c.window_start = now;
      c.window_lines = 0;
      c.dropped = 0;
    }
    if (++c.window_lines > kMaxLinesPerSecond) {
      ++c.dropped;
      return;
    }
    c.on_output(stream, line);
  }

  void Reap(pid_t pid) {
    Child* c = Find(pid);
    if (c == nullptr) return;
    Drain(*c, OutputStream::kStdout);
    Drain(*c, OutputStream::kStderr);
    // Output still held by a grandchild is not waited for: the exit is
    // reported now and the pipes are closed.
    if (!c->out_partial.empty())
      Emit(*c, OutputStream::kStdout, c->out_partial);
    if (!c->err_partial.empty())
      Emit(*c, OutputStream::kStderr, c->err_partial);
    if (c->dropped > 0 && c->on_output) {
      c->on_output(
          OutputStream::kStderr,
          absl::StrCat("pitstop: ", c->dropped, " lines of output dropped"));
    }
    siginfo_t info{};
    while (::waitid(P_PIDFD, c->pidfd, &info, WEXITED) != 0 && errno == EINTR) {
    }
    ExitInfo exit;
    if (info.si_code == CLD_EXITED) {
      exit.exit_code = info.si_status;
    } else {
      exit.signal = info.si_status;
      exit.core_dumped = info.si_code == CLD_DUMPED;
    }
    // The sandbox's init reports how the driver itself ended.
    int driver_status = 0;
    if (c->status_fd >= 0 &&
        ::read(c->status_fd, &driver_status, sizeof driver_status) ==
            sizeof driver_status) {
      exit = ExitInfo{};
      if (WIFSIGNALED(driver_status)) {
        exit.signal = WTERMSIG(driver_status);
        exit.core_dumped = WCOREDUMP(driver_status);
      } else {
        exit.exit_code = WEXITSTATUS(driver_status);
      }
    }
    if (exit.signal == SIGKILL && c->cgroup.OomKilled()) {
      exit.cause = absl::StrCat("exceeded memory limit ",
                                MiB(c->report.memory_limit_bytes),
                                " (killed by the kernel's OOM killer)");
    } else if (exit.signal == SIGSYS && c->report.seccomp) {
      const std::string call = SeccompKilledSyscall(c->pid);
      exit.cause = call.empty()
                       ? "killed by seccomp (SIGSYS): a forbidden system call "
                         "(see docs/sandbox.md for the list)"
                       : absl::StrCat(
                             "killed by seccomp (SIGSYS): forbidden "
                             "system call ",
                             call);
    }
    std::unique_ptr<Child> owned;
    {
      absl::MutexLock lock(&mu_);
      for (int fd : {c->pidfd, c->out_fd, c->err_fd}) {
        if (fd >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      }
      CloseFds(*c);
      owned = std::move(children_[pid]);
      children_.erase(pid);
    }
    RemoveCgroup(owned->cgroup);
    if (owned->on_exit) owned->on_exit(exit);
  }

  void Loop() {
    epoll_event events[32];
    while (true) {
      int n = ::epoll_wait(epoll_fd_, events, 32, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        LogError("sandbox", absl::StrCat("epoll_wait: ", std::strerror(errno)));
        return;
      }
      for (int i = 0; i < n; ++i) {
        const uint64_t key = events[i].data.u64;
        const pid_t pid = static_cast<pid_t>(key >> 2);
        switch (static_cast<Kind>(key & 3)) {
          case kWake: {
            uint64_t v;
            [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof v);
            absl::MutexLock lock(&mu_);
            if (stopping_) return;
            break;
          }
          case kStdout:
          case kStderr:
            if (Child* c = Find(pid)) {
              Drain(*c, (key & 3) == kStdout ? OutputStream::kStdout
                                             : OutputStream::kStderr);
            }
            break;
          case kPidfd:
            Reap(pid);
            break;
        }
      }
    }
  }

  // Constant after construction
  const SandboxOptions options_;
  std::string root_mount_;
  HostSandboxSupport host_;
  std::vector<sock_filter> seccomp_;
  int cap_last_ = 40;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  absl::Mutex launch_mu_;
  absl::Mutex stale_mu_;
  std::vector<InstanceCgroup> stale_cgroups_ ABSL_GUARDED_BY(stale_mu_);
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<pid_t, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> uids_ ABSL_GUARDED_BY(mu_);
};

ChildProcessManager::ChildProcessManager(SandboxOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ChildProcessManager::~ChildProcessManager() = default;

absl::StatusOr<pid_t> ChildProcessManager::Launch(const LaunchSpec& spec,
                                                  OutputHandler on_output,
                                                  ExitHandler on_exit) {
  return impl_->Launch(spec, std::move(on_output), std::move(on_exit));
}

absl::Status ChildProcessManager::Signal(pid_t pid, int signal) {
  return impl_->Signal(pid, signal);
}

SandboxReport ChildProcessManager::Protections(pid_t pid) {
  return impl_->Protections(pid);
}

const HostSandboxSupport& ChildProcessManager::host() const {
  return impl_->host();
}

size_t ChildProcessManager::LiveChildren() { return impl_->LiveChildren(); }

}  // namespace pitstop
