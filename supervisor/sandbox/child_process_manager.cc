#include "supervisor/sandbox/child_process_manager.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/handles.hpp>
#include <boost/process/io.hpp>
#include <boost/process/pipe.hpp>
#include <boost/process/start_dir.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "supervisor/common/check.h"
#include "supervisor/common/logging.h"

namespace pitstop {
namespace {

namespace bp = boost::process;

// Longer lines are delivered in pieces of this size.
constexpr size_t kMaxLine = 8192;

enum Kind : uint64_t { kWake = 0, kStdout = 1, kStderr = 2, kPidfd = 3 };

uint64_t Key(pid_t pid, Kind kind) {
  return (static_cast<uint64_t>(pid) << 2) | kind;
}

int PidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Takes a private, close-on-exec, non-blocking copy of a pipe's read end.
int AdoptReadEnd(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy >= 0) ::fcntl(copy, F_SETFL, ::fcntl(copy, F_GETFL) | O_NONBLOCK);
  return copy;
}

}  // namespace

struct ChildProcessManager::Child {
  pid_t pid = 0;
  bp::child process;
  int pidfd = -1;
  int out_fd = -1;
  int err_fd = -1;
  std::string out_partial;
  std::string err_partial;
  OutputHandler on_output;
  ExitHandler on_exit;
};

class ChildProcessManager::Impl {
 public:
  Impl() {
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
      std::error_code ec;
      child->process.wait(ec);
      CloseFds(*child);
    }
    ::close(epoll_fd_);
    ::close(wake_fd_);
  }

  absl::StatusOr<pid_t> Launch(const LaunchSpec& spec, OutputHandler on_output,
                               ExitHandler on_exit) {
    // Serialized so that the pipes of two launches never cross; any other
    // descriptor is marked close-on-exec in the child before exec.
    absl::MutexLock launch_lock(&launch_mu_);
    bp::environment env;
    env.clear();
    for (const std::string& kv : spec.env) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos) continue;
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    bp::pipe out_pipe, err_pipe;
    const pid_t parent = ::getpid();
    std::error_code ec;
    auto child = std::make_unique<Child>();
    child->process = bp::child(
        bp::exe = spec.executable, bp::args = spec.args, env,
        bp::start_dir = spec.working_dir.empty() ? "/" : spec.working_dir,
        bp::std_in<bp::null, bp::std_out> out_pipe, bp::std_err > err_pipe,
        bp::extend::on_exec_setup =
            [parent](auto&) {
              // Nothing but stdio crosses exec: Boost's own limit_handles
              // also closes the pipe it uses to report exec failures.
              if (::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
                for (int fd = 3; fd < 4096; ++fd)
                  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
              }
              ::setsid();
              ::prctl(PR_SET_PDEATHSIG, SIGKILL);
              // The daemon died between fork and prctl.
              if (::getppid() != parent) ::_exit(127);
            },
        ec);
    if (ec) {
      absl::StatusCode code = absl::StatusCode::kInternal;
      if (ec.value() == ENOENT) code = absl::StatusCode::kNotFound;
      if (ec.value() == EACCES) code = absl::StatusCode::kPermissionDenied;
      return absl::Status(code, absl::StrCat("cannot start ", spec.executable,
                                             ": ", ec.message()));
    }
    child->pid = child->process.id();
    child->pidfd = PidfdOpen(child->pid);
    child->out_fd = AdoptReadEnd(out_pipe.native_source());
    child->err_fd = AdoptReadEnd(err_pipe.native_source());
    child->on_output = std::move(on_output);
    child->on_exit = std::move(on_exit);
    if (child->pidfd < 0) {
      std::string why = std::strerror(errno);
      ::kill(child->pid, SIGKILL);
      child->process.wait(ec);
      CloseFds(*child);
      return absl::InternalError(
          absl::StrCat("pidfd_open for ", spec.executable, ": ", why,
                       " (Linux 5.3 or later is required)"));
    }
    const pid_t pid = child->pid;
    {
      absl::MutexLock lock(&mu_);
      Watch(child->pidfd, Key(pid, kPidfd));
      if (child->out_fd >= 0) Watch(child->out_fd, Key(pid, kStdout));
      if (child->err_fd >= 0) Watch(child->err_fd, Key(pid, kStderr));
      children_[pid] = std::move(child);
    }
    return pid;
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

  size_t LiveChildren() {
    absl::MutexLock lock(&mu_);
    return children_.size();
  }

 private:
  void Watch(int fd, uint64_t key) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
  }

  static void CloseFds(Child& c) {
    for (int* fd : {&c.pidfd, &c.out_fd, &c.err_fd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
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
    if (c.on_output) c.on_output(stream, line);
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
    std::error_code ec;
    c->process.wait(ec);
    int raw = c->process.native_exit_code();
    ExitInfo exit;
    if (WIFSIGNALED(raw)) {
      exit.signal = WTERMSIG(raw);
      exit.core_dumped = WCOREDUMP(raw);
    } else {
      exit.exit_code = WEXITSTATUS(raw);
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
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  absl::Mutex launch_mu_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<pid_t, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
};

ChildProcessManager::ChildProcessManager() : impl_(std::make_unique<Impl>()) {}
ChildProcessManager::~ChildProcessManager() = default;

absl::StatusOr<pid_t> ChildProcessManager::Launch(const LaunchSpec& spec,
                                                  OutputHandler on_output,
                                                  ExitHandler on_exit) {
  return impl_->Launch(spec, std::move(on_output), std::move(on_exit));
}

absl::Status ChildProcessManager::Signal(pid_t pid, int signal) {
  return impl_->Signal(pid, signal);
}

size_t ChildProcessManager::LiveChildren() { return impl_->LiveChildren(); }

}  // namespace pitstop
