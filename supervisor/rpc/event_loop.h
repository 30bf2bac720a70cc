#ifndef PITSTOP_SUPERVISOR_RPC_EVENT_LOOP_H_
#define PITSTOP_SUPERVISOR_RPC_EVENT_LOOP_H_

// The router's event loop: epoll over its sockets, a mailbox for tasks from
// other threads, timers by deadline, and a checked loop-thread assertion.
//
// Ownership: the loop belongs to the thread that constructs it until Run
// binds it to the thread that runs it; from then on every method but
// RequestStop and the mailbox's Post CHECKs that it runs on that thread.

#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "supervisor/common/check.h"

namespace pitstop {

// Which thread a loop's state belongs to, like Chromium's SEQUENCE_CHECKER
// but checked in every build. Thread-safe.
class LoopThreadChecker {
 public:
  LoopThreadChecker() { BindToCurrentThread(); }
  void BindToCurrentThread() { thread_ = std::this_thread::get_id(); }
  bool CalledOnLoopThread() const {
    return std::this_thread::get_id() == thread_.load();
  }

 private:
  std::atomic<std::thread::id> thread_;
};

// CHECKs that the caller runs on the loop's thread.
#define CHECK_ON_LOOP_THREAD(checker) CHECK((checker).CalledOnLoopThread())

// Tasks for the loop from other threads: the route source's answers and the
// leases' cancel functions. Those may run after the loop is gone, so they
// hold the mailbox, not the loop; a task posted after the loop ended is
// dropped. A task runs on the loop's thread only, while the loop lives.
// Thread-safe.
class Mailbox {
 public:
  Mailbox();
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  int fd() const { return wake_fd_; }
  const LoopThreadChecker& checker() const { return checker_; }
  LoopThreadChecker& checker() { return checker_; }

  // Queues `task` and wakes the loop; drops it once the loop ended.
  void Post(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // The tasks queued so far. Loop thread only.
  std::deque<std::function<void()>> Take() ABSL_LOCKS_EXCLUDED(mu_);
  // From now on tasks are dropped; returns those not run.
  std::deque<std::function<void()>> End() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const int wake_fd_;
  LoopThreadChecker checker_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

class EventLoop {
 public:
  // Deadlines, each with the id of what it is for.
  using Timers = std::multimap<absl::Time, uint64_t>;
  using TimerHandle = Timers::iterator;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Reports `fd` readable (and, with SetWritable, writable) to the handler
  // with `tag`.
  void Watch(int fd, void* tag);
  void SetWritable(int fd, void* tag, bool on);
  void Unwatch(int fd);

  // The handler's OnTimer(id) runs once `when` has passed, unless cancelled
  // first.
  TimerHandle AddTimer(absl::Time when, uint64_t id);
  void CancelTimer(TimerHandle timer);

  const std::shared_ptr<Mailbox>& mailbox() const { return mailbox_; }
  const LoopThreadChecker& checker() const { return mailbox_->checker(); }

  // Runs on the calling thread until RequestStop. Each round waits for
  // events (not at all while handler.Busy()), hands each socket's to
  // handler.OnEvent(tag, epoll events), runs posted tasks, fires due timers
  // (handler.OnTimer(id)) and then calls handler.Settle(). A template, so
  // that a round costs no virtual call.
  template <typename Handler>
  void Run(Handler& handler);

  // Any thread: the loop ends after the current round.
  void RequestStop();

 private:
  int WaitMillis(bool busy) const;
  // Waits; false when epoll failed.
  bool Wait(bool busy, int* n);
  void RunPosted();

  // Constant after construction
  int epoll_fd_ = -1;
  const std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();

  // Loop thread only
  char wake_tag_ = 0;  // epoll data of the mailbox's fd
  bool stop_ = false;
  Timers timers_;
  epoll_event events_[64];
};

template <typename Handler>
void EventLoop::Run(Handler& handler) {
  mailbox_->checker().BindToCurrentThread();
  while (!stop_) {
    int n = 0;
    if (!Wait(handler.Busy(), &n)) break;
    for (int i = 0; i < n; ++i) {
      void* tag = events_[i].data.ptr;
      if (tag == &wake_tag_) {
        RunPosted();
      } else {
        handler.OnEvent(tag, events_[i].events);
      }
    }
    const absl::Time now = absl::Now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const uint64_t id = timers_.begin()->second;
      timers_.erase(timers_.begin());
      handler.OnTimer(id);
    }
    handler.Settle();
  }
  mailbox_->End();  // destroyed here, outside the mailbox's lock
}

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_EVENT_LOOP_H_
