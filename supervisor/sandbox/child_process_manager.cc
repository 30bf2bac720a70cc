#include "supervisor/sandbox/child_process_manager.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
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
#include "supervisor/sandbox/child_exit.h"
#include "supervisor/sandbox/child_launch.h"
#include "supervisor/sandbox/driver_uids.h"
#include "supervisor/sandbox/keeper_client.h"
#include "supervisor/sandbox/keeper_record.h"
#include "supervisor/sandbox/output_lines.h"
#include "supervisor/sandbox/sandbox_child.h"
#include "supervisor/sandbox/sandbox_profile.h"
#include "supervisor/sandbox/seccomp_filter.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// At most this much of one pipe is read per wake-up of the monitor thread,
// so one flooding driver cannot keep it from the other children; the rest
// stays in the pipe (and the writer blocks once the pipe is full).
constexpr size_t kReadBudget = 64 * 1024;

enum Kind : uint64_t { kWake = 0, kStdout = 1, kStderr = 2, kPidfd = 3 };
// The inotify descriptor watching socket directories (no child has pid 0).
constexpr uint64_t kInotifyKey = kStdout;

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

int CapLast() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int v = 40;
  in >> v;
  return v;
}

}  // namespace

struct ChildProcessManager::Child {
  pid_t pid = 0;
  int pidfd = -1;
  int out_fd = -1;
  int err_fd = -1;
  int status_fd = -1;  // the sandbox init's report of the driver's status
  OutputLines output;
  ExitHandler on_exit;
  SandboxReport report;
  InstanceCgroup cgroup;
  // Sealing the socket directory: once the driver has created its socket,
  // the directory goes back to root, so the driver cannot swap the socket
  // for a symlink to another driver's (the daemon connects by path).
  std::string seal_dir;  // empty: nothing to seal
  std::string socket_name;
  int seal_wd = -1;
  bool sealed = false;
  std::function<void()> on_listening;
  // Started by an earlier daemon: not our child (its exit status comes
  // from its keeper only).
  bool adopted = false;
  // Its keeper's control socket (and record beside it); empty: none.
  std::string keeper_socket;
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
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ >= 0) Watch(inotify_fd_, kInotifyKey);
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
    StopMonitor();
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
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
  }

  // Lets go of every child without a signal: its keeper drains its output
  // until a daemon attaches again.
  void Release() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    StopMonitor();
    std::map<pid_t, std::unique_ptr<Child>> released;
    {
      absl::MutexLock lock(&mu_);
      released.swap(children_);
    }
    for (auto& [pid, child] : released) CloseFds(*child);
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
    if (absl::Status st = Plan(spec, *child, plan, clone_flags); !st.ok()) {
      RemoveCgroup(child->cgroup);
      return st;
    }
    plan.Seal();
    if (!child->cgroup.empty()) {
      absl::StatusOr<std::vector<int>> entry = child->cgroup.OpenSelfEntry();
      if (!entry.ok()) {
        RemoveCgroup(child->cgroup);
        return absl::UnavailableError(absl::StrCat(
            "driver ", spec.sandbox.driver,
            ": cannot enter its cgroup: ", entry.status().message()));
      }
      plan.cgroup_fds = *std::move(entry);
    }
    // A keeper (the init of a PID namespace) can be re-adopted by a later
    // daemon: its control socket and secret.
    if (plan.init && !options_.keeper_dir.empty()) {
      if (absl::Status st = NewKeeperSecret(plan.keeper_secret); !st.ok()) {
        RemoveCgroup(child->cgroup);
        return st;
      }
      child->keeper_socket = KeeperSocketPath(
          options_.keeper_dir, spec.sandbox.driver, spec.sandbox.instance_id);
      absl::StatusOr<int> control = BindKeeperSocket(child->keeper_socket);
      if (!control.ok()) {
        RemoveCgroup(child->cgroup);
        return control.status();
      }
      plan.control_fd = *control;
    }
    absl::StatusOr<StartedChild> started =
        StartChild(plan, clone_flags, child->cgroup, spec.executable,
                   spec.sandbox.enabled ? spec.sandbox.driver : "", t_start);
    if (!started.ok()) {
      if (!child->keeper_socket.empty())
        RemoveKeeperFiles(child->keeper_socket);
      RemoveCgroup(child->cgroup);
      return started.status();
    }
    child->pid = started->pid;
    child->pidfd = started->pidfd;
    child->out_fd = started->out_fd;
    child->err_fd = started->err_fd;
    child->status_fd = started->status_fd;
    child->output = OutputLines(std::move(on_output), spec.sandbox.enabled);
    child->on_exit = std::move(on_exit);
    if (spec.sandbox.enabled && host_.root && child->report.uid > 0) {
      for (const std::string& kv : spec.env) {
        if (!absl::StartsWith(kv, "PITSTOP_SOCKET=")) continue;
        const fs::path socket = kv.substr(strlen("PITSTOP_SOCKET="));
        if (socket.parent_path() == fs::path(spec.sandbox.socket_dir)) {
          child->seal_dir = spec.sandbox.socket_dir;
          child->socket_name = socket.filename().string();
          child->on_listening = spec.on_listening;
        }
      }
    }
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
    const pid_t keeper_pid = child->pid;
    pid_t child_pid = plan.init ? DriverPidOf(keeper_pid) : keeper_pid;
    const std::string keeper_socket = child->keeper_socket;
    const SandboxReport report = child->report;
    {
      absl::MutexLock lock(&mu_);
      if (children_.count(child_pid) > 0) child_pid = child->pid;
      child->pid = child_pid;
      Watch(child->pidfd, Key(child_pid, kPidfd));
      Watch(child->out_fd, Key(child_pid, kStdout));
      Watch(child->err_fd, Key(child_pid, kStderr));
      if (!child->seal_dir.empty() && inotify_fd_ >= 0) {
        child->seal_wd =
            ::inotify_add_watch(inotify_fd_, child->seal_dir.c_str(),
                                IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
        if (child->seal_wd >= 0) seal_wds_[child->seal_wd] = child_pid;
      }
      Child& c = *child;
      children_[child_pid] = std::move(child);
      // The socket may be there already.
      SealLocked(c);
    }
    if (!keeper_socket.empty()) {
      RecordKeeper(spec, keeper_pid, child_pid, plan, keeper_socket, report);
    }
    return child_pid;
  }

  std::vector<Survivor> FindSurvivors() {
    std::vector<Survivor> out;
    if (options_.keeper_dir.empty()) return out;
    std::vector<std::string> refusals;
    std::vector<ProvenKeeper> proven =
        ProveKeepers(options_.keeper_dir, absl::Milliseconds(500), &refusals);
    for (const std::string& why : refusals) {
      LogWarning("sandbox", absl::StrCat("not re-adopted: ", why));
    }
    absl::MutexLock lock(&mu_);
    for (ProvenKeeper& k : proven) {
      out.push_back(SurvivorOf(k));
      pending_[out.back().pid] = std::move(k);
    }
    return out;
  }

  absl::Status Adopt(pid_t pid, OutputHandler on_output, ExitHandler on_exit) {
    ProvenKeeper k;
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(pid);
      if (it == pending_.end()) {
        return absl::NotFoundError(absl::StrCat("no survivor with pid ", pid));
      }
      k = std::move(it->second);
      pending_.erase(it);
    }
    absl::StatusOr<KeeperPipes> pipes = AttachNewPipes(k.connection);
    auto child = std::make_unique<Child>();
    child->pid = pid;
    child->pidfd = k.pidfd;
    child->adopted = true;
    if (pipes.ok()) {
      child->out_fd = pipes->out_fd;
      child->err_fd = pipes->err_fd;
      child->status_fd = pipes->status_fd;
    }
    child->report = k.record.sandbox;
    child->keeper_socket = k.record.socket;
    child->output = OutputLines(std::move(on_output), true);
    child->on_exit = std::move(on_exit);
    if (k.hello.dropped_bytes > 0) {
      child->output.Note(
          absl::StrCat("pitstop: ", k.hello.dropped_bytes,
                       " bytes of output dropped while no daemon read them"));
    }
    absl::MutexLock lock(&mu_);
    if (children_.count(pid) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("pid ", pid, " is a child"));
    }
    Watch(child->pidfd, Key(pid, kPidfd));
    if (child->out_fd >= 0) Watch(child->out_fd, Key(pid, kStdout));
    if (child->err_fd >= 0) Watch(child->err_fd, Key(pid, kStderr));
    children_[pid] = std::move(child);
    return pipes.status();
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
  // The child's plan: the sandbox profile for a driver, a plain child
  // otherwise. On failure `child.cgroup` may hold a group to remove.
  absl::Status Plan(const LaunchSpec& spec, Child& child, ChildPlan& plan,
                    uint64_t& clone_flags) {
    if (spec.sandbox.enabled) {
      SandboxContext ctx;
      ctx.mode = options_.mode;
      ctx.host = &host_;
      ctx.root_mount = root_mount_;
      ctx.seccomp = &seccomp_;
      ctx.cap_last = cap_last_;
      ctx.uid = host_.root ? uids_.For(spec.sandbox.driver) : 0;
      PlannedSandbox planned;
      absl::Status st = PlanSandbox(spec, ctx, planned);
      child.cgroup = std::move(planned.cgroup);
      if (!st.ok()) return st;
      plan = std::move(planned.plan);
      clone_flags = planned.clone_flags;
      child.report = std::move(planned.report);
    } else {
      plan.exe = spec.executable;
      plan.argv_storage.push_back(spec.executable);
      for (const std::string& a : spec.args) plan.argv_storage.push_back(a);
      plan.envp_storage = spec.env;
      plan.working_dir = spec.working_dir.empty() ? "/" : spec.working_dir;
      child.report.mode = "off";
    }
    return absl::OkStatus();
  }

  // Writes down a keeper for the next daemon (keeper_record.h). Without the
  // record the instance runs on, but cannot be re-adopted.
  void RecordKeeper(const LaunchSpec& spec, pid_t keeper_pid, pid_t driver_pid,
                    const ChildPlan& plan, const std::string& socket,
                    const SandboxReport& report) {
    KeeperRecord r;
    r.driver = spec.sandbox.driver;
    r.instance_id = spec.sandbox.instance_id;
    r.version = spec.sandbox.version;
    r.keeper_pid = keeper_pid;
    r.driver_pid = driver_pid;
    r.start_time = ProcessStartTime(keeper_pid);
    r.boot_id = boot_id_;
    r.secret_hex = SecretHex(plan.keeper_secret);
    r.socket = socket;
    r.sandbox = report;
    if (absl::Status s = WriteKeeperRecord(KeeperRecordPath(socket), r);
        !s.ok()) {
      LogWarning("sandbox",
                 absl::StrCat("driver ", r.driver,
                              " cannot be re-adopted by "
                              "a later daemon: ",
                              s.message()),
                 {{"driver", r.driver}});
    }
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

  // Gives the socket directory back to root once the socket exists; what
  // is there under the socket's name then is kept only if it is a socket.
  // True when it sealed the directory now.
  bool SealLocked(Child& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (c.sealed || c.seal_dir.empty()) return false;
    const std::string path = c.seal_dir + "/" + c.socket_name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return false;
    ::chown(c.seal_dir.c_str(), 0, 0);
    ::chmod(c.seal_dir.c_str(), 0755);
    c.sealed = true;
    if (c.seal_wd >= 0) {
      ::inotify_rm_watch(inotify_fd_, c.seal_wd);
      seal_wds_.erase(c.seal_wd);
      c.seal_wd = -1;
    }
    // Checked after sealing: the driver can no longer change it.
    if (::lstat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode)) {
      ::unlink(path.c_str());
      LogWarning("sandbox",
                 absl::StrCat("a driver put something other than a socket at ",
                              path, "; removed"));
    }
    return true;
  }

  void OnInotify() {
    alignas(inotify_event) char buf[4096];
    // Bounded like Drain: a driver making names in its socket directory
    // cannot keep the monitor thread here.
    for (int reads = 0; reads < 16; ++reads) {
      const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
      if (n <= 0) return;
      // Called once the lock is released: they call into the supervisor.
      std::vector<std::function<void()>> listening;
      auto seal = [&](Child& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (SealLocked(c) && c.on_listening)
          listening.push_back(c.on_listening);
      };
      {
        absl::MutexLock lock(&mu_);
        for (ssize_t off = 0; off < n;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
          if (ev->mask & IN_Q_OVERFLOW) {
            // Events were lost (one driver flooded the queue): look at every
            // directory not sealed yet instead of trusting the events.
            for (auto& [pid, child] : children_) seal(*child);
            continue;
          }
          auto wd = seal_wds_.find(ev->wd);
          if (wd == seal_wds_.end()) continue;
          auto it = children_.find(wd->second);
          if (it != children_.end()) seal(*it->second);
        }
      }
      for (const auto& on_listening : listening) on_listening();
    }
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

  // Reads up to `budget` bytes of what the pipe holds now (the pipe is
  // level-triggered: the rest is reported again); closes it at end of file.
  // Only the monitor thread touches a child's pipes and buffers.
  void Drain(Child& c, OutputStream stream, size_t budget = kReadBudget) {
    int& fd = stream == OutputStream::kStdout ? c.out_fd : c.err_fd;
    char buf[16 * 1024];
    for (size_t taken = 0; fd >= 0 && taken < budget;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        fd = -1;
        break;
      }
      taken += static_cast<size_t>(n);
      c.output.Append(stream, absl::string_view(buf, static_cast<size_t>(n)));
    }
    if (fd < 0) c.output.Finish(stream);
  }

  void Reap(pid_t pid) {
    Child* c = Find(pid);
    if (c == nullptr) return;
    // What the child wrote before it ended, up to 1 MiB a pipe. Output
    // still held by a grandchild is not waited for: the exit is reported now
    // and the pipes are closed.
    Drain(*c, OutputStream::kStdout, 1 << 20);
    Drain(*c, OutputStream::kStderr, 1 << 20);
    c->output.Finish(OutputStream::kStdout);
    c->output.Finish(OutputStream::kStderr);
    c->output.ReportDropped();
    const ExitInfo exit =
        CollectExit(c->pidfd, c->status_fd, c->cgroup, c->report, c->pid);
    std::unique_ptr<Child> owned;
    {
      absl::MutexLock lock(&mu_);
      for (int fd : {c->pidfd, c->out_fd, c->err_fd}) {
        if (fd >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      }
      if (c->seal_wd >= 0) {
        ::inotify_rm_watch(inotify_fd_, c->seal_wd);
        seal_wds_.erase(c->seal_wd);
      }
      CloseFds(*c);
      owned = std::move(children_[pid]);
      children_.erase(pid);
    }
    RemoveCgroup(owned->cgroup);
    if (!owned->keeper_socket.empty()) RemoveKeeperFiles(owned->keeper_socket);
    if (owned->on_exit) owned->on_exit(exit);
  }

  void StopMonitor() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
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
        if (key == kInotifyKey) {
          OnInotify();
          continue;
        }
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
  DriverUids uids_{options_.uid_base, options_.uid_count};
  std::string root_mount_;
  HostSandboxSupport host_;
  std::vector<sock_filter> seccomp_;
  int cap_last_ = 40;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int inotify_fd_ = -1;
  std::thread thread_;

  absl::Mutex launch_mu_;
  absl::Mutex stale_mu_;
  std::vector<InstanceCgroup> stale_cgroups_ ABSL_GUARDED_BY(stale_mu_);
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<pid_t, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
  std::map<int, pid_t> seal_wds_ ABSL_GUARDED_BY(mu_);
  // Proven by FindSurvivors, not adopted yet; by driver pid.
  std::map<pid_t, ProvenKeeper> pending_ ABSL_GUARDED_BY(mu_);
  std::string boot_id_ = CurrentBootId();
};

ChildProcessManager::ChildProcessManager(SandboxOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
ChildProcessManager::~ChildProcessManager() = default;

absl::StatusOr<pid_t> ChildProcessManager::Launch(const LaunchSpec& spec,
                                                  OutputHandler on_output,
                                                  ExitHandler on_exit) {
  return impl_->Launch(spec, std::move(on_output), std::move(on_exit));
}

void ChildProcessManager::Release() { impl_->Release(); }

std::vector<Survivor> ChildProcessManager::FindSurvivors() {
  return impl_->FindSurvivors();
}

absl::Status ChildProcessManager::Adopt(pid_t pid, OutputHandler on_output,
                                        ExitHandler on_exit) {
  return impl_->Adopt(pid, std::move(on_output), std::move(on_exit));
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
