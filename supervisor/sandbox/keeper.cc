#include "supervisor/sandbox/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "supervisor/sandbox/keeper_protocol.h"

namespace pitstop {
namespace {

// epoll keys.
enum : uint64_t {
  kSignals = 0,
  kDriverOut = 1,
  kDriverErr = 2,
  kListen = 3,
  kConnection = 4,
  kDaemonOut = 5,
  kDaemonErr = 6,
};

// One output stream: what the driver wrote and the daemon has not taken,
// the newest kKeeperRingBytes of it.
struct Ring {
  char* data = nullptr;
  uint64_t head = 0;  // bytes ever appended
  uint64_t tail = 0;  // bytes ever sent (or dropped)
  uint64_t dropped = 0;

  uint64_t size() const { return head - tail; }
  void Append(const char* p, size_t n) {
    if (n > kKeeperRingBytes) {  // only the newest bytes can be kept
      head += n - kKeeperRingBytes;
      p += n - kKeeperRingBytes;
      n = kKeeperRingBytes;
    }
    // At most two copies: up to the end of the buffer, then from its start.
    const size_t start = static_cast<size_t>(head % kKeeperRingBytes);
    const size_t first =
        n < kKeeperRingBytes - start ? n : kKeeperRingBytes - start;
    std::memcpy(data + start, p, first);
    std::memcpy(data, p + first, n - first);
    head += n;
    if (size() > kKeeperRingBytes) {
      dropped += size() - kKeeperRingBytes;
      tail = head - kKeeperRingBytes;
    }
  }
  // The next contiguous bytes to send.
  const char* Chunk(size_t* n) const {
    const uint64_t start = tail % kKeeperRingBytes;
    const uint64_t to_end = kKeeperRingBytes - start;
    *n = static_cast<size_t>(size() < to_end ? size() : to_end);
    return data + start;
  }
};

struct Keeper {
  const ChildPlan* plan = nullptr;
  int epoll_fd = -1;
  int signal_fd = -1;
  int connection = -1;
  int driver_out = -1;  // read ends of the driver's stdout and stderr
  int driver_err = -1;
  // The attached daemon's pipes (-1 while detached).
  int daemon_out = 1;
  int daemon_err = 2;
  int daemon_status = kKeeperStatusFd;
  Ring rings[2];
  bool waiting_out[2] = {false, false};  // EPOLLOUT registered
  pid_t driver = 0;
  bool exited = false;
  int wait_status = 0;
};

void Add(Keeper& k, int fd, uint64_t key, uint32_t events = EPOLLIN) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = key;
  ::epoll_ctl(k.epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

void CloseFd(Keeper& k, int& fd) {
  if (fd < 0) return;
  ::epoll_ctl(k.epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  fd = -1;
}

int& DaemonFd(Keeper& k, int stream) {
  return stream == 0 ? k.daemon_out : k.daemon_err;
}

// The daemon went away (or another one attached): keep output until the
// next one comes.
void Detach(Keeper& k) {
  for (int s = 0; s < 2; ++s) {
    CloseFd(k, DaemonFd(k, s));
    k.waiting_out[s] = false;
  }
  if (k.daemon_status >= 0) ::close(k.daemon_status);
  k.daemon_status = -1;
}

// Sends what it can of stream `s` without blocking.
void Flush(Keeper& k, int s) {
  Ring& ring = k.rings[s];
  int fd = DaemonFd(k, s);
  while (fd >= 0 && ring.size() > 0) {
    size_t n = 0;
    const char* p = ring.Chunk(&n);
    const ssize_t w = ::write(fd, p, n);
    if (w > 0) {
      ring.tail += static_cast<uint64_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      if (!k.waiting_out[s]) {
        Add(k, fd, s == 0 ? kDaemonOut : kDaemonErr, EPOLLOUT);
        k.waiting_out[s] = true;
      }
      return;
    }
    Detach(k);  // EPIPE: no daemon reads any more
    return;
  }
  if (fd >= 0 && k.waiting_out[s]) {
    ::epoll_ctl(k.epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    k.waiting_out[s] = false;
  }
}

void ReadDriver(Keeper& k, int s) {
  int& fd = s == 0 ? k.driver_out : k.driver_err;
  char buf[16384];
  for (int round = 0; round < 8 && fd >= 0; ++round) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      CloseFd(k, fd);
      break;
    }
    k.rings[s].Append(buf, static_cast<size_t>(n));
  }
  Flush(k, s);
}

void SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// The driver has exited and a daemon is attached: the rest of its output
// (bounded in time), its status, and the end of the namespace. Returns only
// when the daemon went away meanwhile (the next one collects the status).
void TryFinish(Keeper& k) {
  for (int s = 0; s < 2; ++s) {
    for (int rounds = 0; rounds < 64 && k.rings[s].size() > 0; ++rounds) {
      const int fd = DaemonFd(k, s);
      if (fd < 0) break;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) break;
      Flush(k, s);
    }
  }
  if (k.daemon_status < 0 ||
      ::write(k.daemon_status, &k.wait_status, sizeof k.wait_status) !=
          static_cast<ssize_t>(sizeof k.wait_status)) {
    Detach(k);
    return;
  }
  // Leaving ends the namespace: the kernel kills whatever is left.
  ::_exit(WIFEXITED(k.wait_status) ? WEXITSTATUS(k.wait_status)
                                   : 128 + WTERMSIG(k.wait_status));
}

void OnSignals(Keeper& k) {
  signalfd_siginfo info;
  while (::read(k.signal_fd, &info, sizeof info) == sizeof info) {
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGCHLD) {
      while (true) {
        int status = 0;
        const pid_t pid =
            static_cast<pid_t>(::wait4(-1, &status, WNOHANG, nullptr));
        if (pid <= 0) break;
        if (pid == k.driver) {
          k.exited = true;
          k.wait_status = status;
        }
      }
    } else if (sig != SIGPIPE && !k.exited) {
      // SIGPIPE is the keeper's own (a daemon went away), never the
      // driver's.
      ::kill(k.driver, sig);
    }
  }
}

void Reply(Keeper& k) {
  KeeperHelloReply reply;
  std::memcpy(reply.secret, k.plan->keeper_secret, kKeeperSecretBytes);
  reply.exited = k.exited ? 1 : 0;
  reply.wait_status = k.wait_status;
  reply.dropped_bytes = k.rings[0].dropped + k.rings[1].dropped;
  if (::send(k.connection, &reply, sizeof reply, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(sizeof reply)) {
    CloseFd(k, k.connection);
  }
}

// A daemon's new pipes: stdout, stderr, status.
void Attach(Keeper& k, const int fds[3]) {
  Detach(k);
  k.daemon_out = fds[0];
  k.daemon_err = fds[1];
  k.daemon_status = fds[2];
  SetNonBlocking(k.daemon_out);
  SetNonBlocking(k.daemon_err);
  for (Ring& r : k.rings) r.dropped = 0;
  Flush(k, 0);
  Flush(k, 1);
}

void OnConnection(Keeper& k) {
  char buf[64];
  alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(k.connection, &msg, MSG_CMSG_CLOEXEC);
  int fds[3] = {-1, -1, -1};
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (got < 3) {
        fds[got++] = fd;
      } else {
        ::close(fd);
      }
    }
  }
  uint32_t magic = 0;
  if (n >= static_cast<ssize_t>(sizeof magic)) {
    std::memcpy(&magic, buf, sizeof magic);
  }
  if (n >= static_cast<ssize_t>(sizeof(KeeperHello)) &&
      magic == kKeeperHelloMagic && got == 0) {
    Reply(k);
    return;
  }
  if (magic == kKeeperAttachMagic && got == 3) {
    Attach(k, fds);
    CloseFd(k, k.connection);
    if (k.exited) TryFinish(k);
    return;
  }
  for (int i = 0; i < got; ++i) ::close(fds[i]);
  CloseFd(k, k.connection);  // end of file, or nonsense
}

void OnListen(Keeper& k) {
  const int fd = ::accept4(kKeeperControlFd, nullptr, nullptr,
                           SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  // One daemon at a time: the newest wins.
  CloseFd(k, k.connection);
  k.connection = fd;
  Add(k, fd, kConnection);
}

[[noreturn]] void ForkDriver(const Keeper& k, int out[2], int err[2]) {
  ::dup2(out[1], 1);
  ::dup2(err[1], 2);
  for (int fd :
       {out[0], out[1], err[0], err[1], kKeeperStatusFd, kKeeperControlFd}) {
    if (fd > 2) ::close(fd);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ExecDriver(*k.plan);
}

}  // namespace

void RunKeeper(const ChildPlan& plan) {
  // Not "pitstopd": `killall pitstopd` or `pkill pitstopd` must not end every
  // driver. The driver, forked from here, is named by its own exec.
  ::prctl(PR_SET_NAME, "pitstop-keeper", 0, 0, 0);
  Keeper k;
  k.plan = &plan;
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  int out[2], err[2];
  void* mem = ::mmap(nullptr, 2 * kKeeperRingBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) PITSTOP_DIE_IN_CHILD("map the keeper's output buffer");
  k.rings[0].data = static_cast<char*>(mem);
  k.rings[1].data = static_cast<char*>(mem) + kKeeperRingBytes;
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    PITSTOP_DIE_IN_CHILD("the driver's output pipes");
  }
  // A raw fork: the C library's would run the daemon's fork handlers.
  k.driver = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (k.driver < 0) PITSTOP_DIE_IN_CHILD("fork the driver in its namespace");
  if (k.driver == 0) ForkDriver(k, out, err);
  // Only the driver reports exec failures; its exec closes the pipe.
  ::close(kChildErrorFd);
  ::close(out[1]);
  ::close(err[1]);
  k.driver_out = out[0];
  k.driver_err = err[0];
  SetNonBlocking(k.driver_out);
  SetNonBlocking(k.driver_err);
  SetNonBlocking(k.daemon_out);
  SetNonBlocking(k.daemon_err);
  k.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  k.signal_fd = ::signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
  Add(k, k.signal_fd, kSignals);
  Add(k, k.driver_out, kDriverOut);
  Add(k, k.driver_err, kDriverErr);
  // Listening from here on makes this process the socket's peer (what a
  // daemon checks with SO_PEERCRED).
  if (::listen(kKeeperControlFd, 4) == 0) Add(k, kKeeperControlFd, kListen);
  while (true) {
    if (k.exited) {
      // What it wrote last is in the pipes already.
      if (k.driver_out >= 0) ReadDriver(k, 0);
      if (k.driver_err >= 0) ReadDriver(k, 1);
      if (k.daemon_status >= 0) TryFinish(k);
    }
    epoll_event events[8];
    const int n = ::epoll_wait(k.epoll_fd, events, 8, -1);
    for (int i = 0; i < n; ++i) {
      switch (events[i].data.u64) {
        case kSignals:
          OnSignals(k);
          break;
        case kDriverOut:
          ReadDriver(k, 0);
          break;
        case kDriverErr:
          ReadDriver(k, 1);
          break;
        case kListen:
          OnListen(k);
          break;
        case kConnection:
          if (k.connection >= 0) OnConnection(k);
          break;
        case kDaemonOut:
          Flush(k, 0);
          break;
        case kDaemonErr:
          Flush(k, 1);
          break;
      }
    }
  }
}

}  // namespace pitstop
