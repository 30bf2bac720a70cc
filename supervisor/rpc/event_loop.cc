#include "supervisor/rpc/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/logging.h"

namespace pitstop {

Mailbox::Mailbox() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  CHECK(wake_fd_ >= 0);
}

Mailbox::~Mailbox() { ::close(wake_fd_); }

void Mailbox::Post(std::function<void()> task) {
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    if (!ended_) {
      wake = tasks_.empty();
      tasks_.push_back(std::move(task));
    }
  }
  // A dropped task is destroyed here, outside the lock: it may hold a route
  // whose lease takes other locks as it ends.
  task = nullptr;
  if (wake) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
}

std::deque<std::function<void()>> Mailbox::Take() {
  CHECK_ON_LOOP_THREAD(checker_);
  uint64_t count;
  (void)!::read(wake_fd_, &count, sizeof count);
  std::deque<std::function<void()>> tasks;
  absl::MutexLock lock(&mu_);
  tasks.swap(tasks_);
  return tasks;
}

std::deque<std::function<void()>> Mailbox::End() {
  std::deque<std::function<void()>> tasks;
  absl::MutexLock lock(&mu_);
  ended_ = true;
  tasks.swap(tasks_);
  return tasks;
}

EventLoop::EventLoop() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  CHECK(epoll_fd_ >= 0);
  Watch(mailbox_->fd(), &wake_tag_);
}

EventLoop::~EventLoop() { ::close(epoll_fd_); }

void EventLoop::Watch(int fd, void* tag) {
  CHECK_ON_LOOP_THREAD(checker());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
}

void EventLoop::SetWritable(int fd, void* tag, bool on) {
  CHECK_ON_LOOP_THREAD(checker());
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.ptr = tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Unwatch(int fd) {
  CHECK_ON_LOOP_THREAD(checker());
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerHandle EventLoop::AddTimer(absl::Time when, uint64_t id) {
  CHECK_ON_LOOP_THREAD(checker());
  return timers_.emplace(when, id);
}

void EventLoop::CancelTimer(TimerHandle timer) {
  CHECK_ON_LOOP_THREAD(checker());
  timers_.erase(timer);
}

void EventLoop::RequestStop() {
  mailbox_->Post([this] { stop_ = true; });
}

int EventLoop::WaitMillis(bool busy) const {
  if (busy) return 0;
  if (timers_.empty()) return -1;
  const absl::Duration left = timers_.begin()->first - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
      60000));
}

bool EventLoop::Wait(bool busy, int* n) {
  *n = ::epoll_wait(epoll_fd_, events_, 64, WaitMillis(busy));
  if (*n >= 0) return true;
  *n = 0;
  if (errno == EINTR) return true;
  LogError("pitstopd",
           absl::StrCat("router: epoll_wait: ", std::strerror(errno)));
  return false;
}

void EventLoop::RunPosted() {
  for (auto& task : mailbox_->Take()) task();
}

}  // namespace pitstop
