#include "supervisor/rpc/frame_router.h"

#include <arpa/inet.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <netdb.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/common/check.h"
#include "supervisor/common/logging.h"
#include "supervisor/rpc/call_context_reader.h"
#include "supervisor/rpc/grpc_driver_endpoint.h"
#include "supervisor/rpc/grpc_wire.h"
#include "supervisor/rpc/unix_socket.h"
#include "supervisor/schema/property_validator.h"

namespace pitstop {
namespace {

namespace v1 = pitstop::driver::v1;

using Headers = std::vector<std::pair<std::string, std::string>>;
// Forwarded calls by deadline.
using Timers = std::multimap<absl::Time, uint64_t>;

// gRPC status codes the router produces itself.
enum GrpcCode : int {
  kCancelled = 1,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kFailedPrecondition = 9,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

// Streams whose path starts with one of these go to the in-process server.
constexpr absl::string_view kBackendPrefixes[] = {
    "/pitstop.supervisor.v1.", "/grpc.health.v1.", "/grpc.reflection."};

// Receive window of every stream and of every connection: a routed message
// of up to a megabyte flows without waiting for a WINDOW_UPDATE.
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;
// Bytes read from one socket per wake-up before others get their turn.
constexpr size_t kReadChunk = 64 << 10;
// Routed requests a client connection may have buffered at once: their bytes
// go back to the client's window as they arrive, so this is what bounds the
// memory one connection can make the daemon hold.
constexpr size_t kMaxBufferedPerClient = 256 << 20;
// Output queued per connection before the socket is written.
constexpr size_t kFlushChunk = 256 << 10;

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

std::vector<nghttp2_nv> NvList(const Headers& headers) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& [name, value] : headers) nva.push_back(Nv(name, value));
  return nva;
}

const std::string* Find(const Headers& headers, absl::string_view name) {
  for (const auto& h : headers) {
    if (h.first == name) return &h.second;
  }
  return nullptr;
}

enum class Peer { kClient, kDriver, kBackend };

struct Connection {
  uint64_t id = 0;
  int fd = -1;
  Peer peer = Peer::kClient;
  nghttp2_session* session = nullptr;
  std::string out;
  size_t out_sent = 0;
  bool polling_out = false;  // EPOLLOUT registered
  bool dirty = false;        // in the loop's flush list
  bool dead = false;
  bool going_away = false;  // the peer sent GOAWAY: no new streams
  std::string dead_reason;
  uint64_t instance_id = 0;            // kDriver
  Connection* backend = nullptr;       // kClient: its passage to the backend
  Connection* client = nullptr;        // kBackend: the client it serves
  std::unordered_set<uint64_t> calls;  // calls with a stream here
  size_t buffered = 0;                 // kClient: bytes of routed requests held
  FrameRouter::Loop* loop = nullptr;
};

// A call's forwarded stream and what came back on it; a new attempt
// starts from a fresh one.
struct Forwarding {
  Connection* up = nullptr;
  int32_t up_stream = 0;
  bool up_started = false;
  bool up_closed = false;
  uint32_t up_error = 0;
  bool up_lost = false;  // its connection broke
  std::string up_lost_reason;
  bool up_refused = false;  // never reached the driver
  bool up_headers_sent = false;
  Headers response_headers;
  bool response_headers_done = false;
  bool trailers_only = false;
  std::string response_body;
  size_t response_sent = 0;
  bool response_too_large = false;
  Headers trailers;
  bool trailers_done = false;
};

// One stream from a client, and the stream it is forwarded on.
struct Call : Forwarding {
  enum class Phase { kReceiving, kRouting, kForwarding, kResponding };

  uint64_t id = 0;
  Connection* client = nullptr;
  int32_t client_stream = 0;
  bool classified = false;
  bool routed = false;
  bool counted = false;  // in the router's in-flight count
  bool scheduled = false;
  bool client_closed = false;
  Phase phase = Phase::kReceiving;

  // The request, from the client.
  Headers request_headers;
  bool headers_done = false;
  std::string request_body;
  size_t request_sent = 0;
  bool request_complete = false;
  bool too_large = false;    // the request
  bool over_budget = false;  // its connection holds too much
  size_t buffered = 0;       // counted in its connection's buffered
  bool response_submitted = false;

  // Routing.
  std::string method;
  std::string driver;
  DriverCategory category = DriverCategory::kStorage;
  v1::CallContext context;
  std::string resource;  // "type/id"; empty when the call names none
  absl::Time deadline = absl::InfiniteFuture();  // the caller's
  absl::Time forward_deadline = absl::InfiniteFuture();
  std::optional<Timers::iterator> timer;  // while forwarding
  std::optional<absl::StatusOr<Route>> pending_route;
  Route route;
  bool validated = false;
  int connect_retries = 0;
  bool resent_after_loss = false;
  bool cancelled_by_drain = false;
  bool timed_out = false;

  void ResetForward() {
    static_cast<Forwarding&>(*this) = Forwarding();
    request_sent = 0;
  }
};

// Tasks for the loop from other threads: the supervisor's route answers and
// the leases' cancel functions. Those may run after the loop is gone, so
// they hold the mailbox, not the loop; a task posted after the loop ended is
// dropped. A task runs on the loop's thread only, while the loop lives.
class Mailbox {
 public:
  Mailbox() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    CHECK(wake_fd_ >= 0);
  }
  ~Mailbox() { ::close(wake_fd_); }

  int fd() const { return wake_fd_; }
  bool OnLoopThread() const {
    return std::this_thread::get_id() == loop_thread_.load();
  }
  void SetLoopThread() { loop_thread_ = std::this_thread::get_id(); }

  void Post(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_) {
    bool wake = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ended_) {
        wake = tasks_.empty();
        tasks_.push_back(std::move(task));
      }
    }
    // A dropped task is destroyed here, outside the lock: it may hold a
    // route whose lease takes other locks as it ends.
    task = nullptr;
    if (wake) {
      const uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    }
  }

  std::deque<std::function<void()>> Take() ABSL_LOCKS_EXCLUDED(mu_) {
    uint64_t count;
    (void)!::read(wake_fd_, &count, sizeof count);
    std::deque<std::function<void()>> tasks;
    absl::MutexLock lock(&mu_);
    tasks.swap(tasks_);
    return tasks;
  }

  // From now on tasks are dropped; returns those not run.
  std::deque<std::function<void()>> End() ABSL_LOCKS_EXCLUDED(mu_) {
    std::deque<std::function<void()>> tasks;
    absl::MutexLock lock(&mu_);
    ended_ = true;
    tasks.swap(tasks_);
    return tasks;
  }

 private:
  const int wake_fd_;
  std::atomic<std::thread::id> loop_thread_{};
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

class FrameRouter::Loop {
 public:
  Loop(FrameRouter& router, int listen_fd, grpc::Server* backend)
      : router_(router), listen_fd_(listen_fd), backend_(backend) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    CHECK(epoll_fd_ >= 0);
    Watch(listen_fd_, EPOLLIN, &listen_tag_);
    Watch(mailbox_->fd(), EPOLLIN, &wake_tag_);

    nghttp2_session_callbacks_new(&callbacks_);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks_,
                                                            &OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks_, &OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks_,
                                                         &OnFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks_,
                                                              &OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks_,
                                                           &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks_,
                                                         &OnFrameSend);
    nghttp2_option_new(&option_);
    nghttp2_option_set_no_auto_window_update(option_, 1);
  }

  ~Loop() {
    for (auto& [id, conn] : connections_) {
      nghttp2_session_del(conn->session);
      ::close(conn->fd);
    }
    connections_.clear();
    calls_.clear();
    nghttp2_option_del(option_);
    nghttp2_session_callbacks_del(callbacks_);
    ::close(epoll_fd_);
  }

  void Run() {
    mailbox_->SetLoopThread();
    epoll_event events[64];
    while (!stop_) {
      const int n = ::epoll_wait(epoll_fd_, events, 64, WaitMillis());
      if (n < 0 && errno != EINTR) {
        LogError("pitstopd", ErrnoText("router: epoll_wait"));
        break;
      }
      for (int i = 0; i < n; ++i) {
        void* what = events[i].data.ptr;
        if (what == &listen_tag_) {
          Accept();
        } else if (what == &wake_tag_) {
          RunPosted();
        } else {
          auto* conn = static_cast<Connection*>(what);
          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            Read(conn);
          }
          if (events[i].events & EPOLLOUT) MarkDirty(conn);
        }
      }
      FireTimers();
      Settle();
    }
    mailbox_->End();  // destroyed here, outside the mailbox's lock
  }

  void RequestStop() {
    mailbox_->Post([this] { stop_ = true; });
  }

 private:
  // --- nghttp2 callbacks: they only record, Advance acts ---

  static Connection* Conn(void* user_data) {
    return static_cast<Connection*>(user_data);
  }
  // The call a stream belongs to: its stream user data is the call's id,
  // never a pointer (a queued request keeps the user data it was submitted
  // with even after the call is gone), and a forwarded stream counts only
  // while it is the call's current one.
  static Call* StreamCall(Connection* conn, int32_t stream_id) {
    const auto id = reinterpret_cast<uintptr_t>(
        nghttp2_session_get_stream_user_data(conn->session, stream_id));
    Call* call = id == 0 ? nullptr : conn->loop->FindCall(id);
    if (call == nullptr) return nullptr;
    if (conn->peer == Peer::kClient) {
      return call->client == conn && call->client_stream == stream_id ? call
                                                                      : nullptr;
    }
    return call->up == conn && call->up_stream == stream_id ? call : nullptr;
  }
  static void* UserData(const Call* call) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(call->id));
  }
  static nghttp2_data_provider Provider(
      const Call* call, nghttp2_data_source_read_callback read) {
    nghttp2_data_provider provider{};
    provider.source.ptr = UserData(call);
    provider.read_callback = read;
    return provider;
  }

  // Copies what fits of body[sent..] into `buf`. A passed-through stream's
  // bytes go back to the window of the stream they came on (`from`, when it
  // is still open), and only what is not passed on yet is kept.
  size_t CopyOut(bool passed_through, std::string& body, size_t& sent,
                 uint8_t* buf, size_t length, Connection* from,
                 int32_t from_stream) {
    const size_t n = std::min(length, body.size() - sent);
    std::memcpy(buf, body.data() + sent, n);
    sent += n;
    if (!passed_through) return n;
    if (n > 0 && from != nullptr) {
      nghttp2_session_consume_stream(from->session, from_stream, n);
      MarkDirty(from);
    }
    if (sent == body.size() || sent >= kReadChunk) {
      body.erase(0, sent);
      sent = 0;
    }
    return n;
  }

  static int OnBeginHeaders(nghttp2_session* session,
                            const nghttp2_frame* frame, void* user_data) {
    Connection* conn = Conn(user_data);
    if (conn->peer != Peer::kClient || frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    conn->loop->NewCall(conn, frame->hd.stream_id);
    return 0;
  }

  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame,
                      const uint8_t* name, size_t name_length,
                      const uint8_t* value, size_t value_length, uint8_t flags,
                      void* user_data) {
    Call* call = StreamCall(Conn(user_data), frame->hd.stream_id);
    if (call == nullptr || frame->hd.type != NGHTTP2_HEADERS) return 0;
    std::pair<std::string, std::string> header(
        std::string(reinterpret_cast<const char*>(name), name_length),
        std::string(reinterpret_cast<const char*>(value), value_length));
    if (Conn(user_data)->peer == Peer::kClient) {
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        call->request_headers.push_back(std::move(header));
      }
    } else if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      call->response_headers.push_back(std::move(header));
    } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
      call->trailers.push_back(std::move(header));
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                         void* user_data) {
    Connection* conn = Conn(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      conn->going_away = true;
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
      return 0;
    }
    Call* call = StreamCall(conn, frame->hd.stream_id);
    if (call == nullptr) return 0;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (conn->peer == Peer::kClient) {
      if (frame->hd.type == NGHTTP2_HEADERS &&
          frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        call->headers_done = true;
        // Now, not when the call is next advanced: the DATA frames behind
        // these headers may be in the same read, and a routed call's bytes
        // are handed back to the window as they arrive.
        if (const std::string* path = Find(call->request_headers, ":path")) {
          call->method = *path;
        }
        const auto& methods = conn->loop->router_.methods_;
        auto it = methods.find(call->method);
        call->routed = it != methods.end();
        if (call->routed) call->category = it->second;
      }
      if (end) call->request_complete = true;
    } else if (frame->hd.type == NGHTTP2_HEADERS) {
      if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
        call->response_headers_done = true;
        call->trailers_only = end;
      } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
        call->trailers_done = true;
      }
    }
    conn->loop->Schedule(call);
    return 0;
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                         void* user_data) {
    Connection* conn = Conn(user_data);
    if (conn->peer == Peer::kClient || frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    if (Call* call = StreamCall(conn, frame->hd.stream_id)) {
      call->up_headers_sent = true;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t flags,
                         int32_t stream_id, const uint8_t* data, size_t length,
                         void* user_data) {
    Connection* conn = Conn(user_data);
    Call* call = StreamCall(conn, stream_id);
    const size_t max = conn->loop->router_.options_.max_message_bytes + 5;
    // Bytes are handed back to the sender's windows at once, but for a
    // passed-through stream's own window: that opens again as the other
    // side takes the bytes, so a slow reader holds back only its stream.
    bool consume_now = true;
    if (call != nullptr) {
      std::string& body = conn->peer == Peer::kClient ? call->request_body
                                                      : call->response_body;
      const bool routed_request = call->routed && conn->peer == Peer::kClient;
      if (call->routed && body.size() + length > max) {
        (routed_request ? call->too_large : call->response_too_large) = true;
      } else if (routed_request &&
                 conn->buffered + length > kMaxBufferedPerClient) {
        call->over_budget = true;
      } else {
        body.append(reinterpret_cast<const char*>(data), length);
        if (routed_request) {
          conn->buffered += length;
          call->buffered += length;
        }
      }
      consume_now = call->routed;
      conn->loop->Schedule(call);
    }
    if (consume_now) {
      nghttp2_session_consume(session, stream_id, length);
    } else {
      nghttp2_session_consume_connection(session, length);
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session* session, int32_t stream_id,
                           uint32_t error_code, void* user_data) {
    Connection* conn = Conn(user_data);
    Call* call = StreamCall(conn, stream_id);
    if (call == nullptr) return 0;
    if (conn->peer == Peer::kClient) {
      call->client_closed = true;
    } else {
      call->up_closed = true;
      call->up_error = error_code;
      conn->calls.erase(call->id);
      call->up = nullptr;
    }
    conn->loop->Schedule(call);
    return 0;
  }

  // The request body, to the forwarded stream.
  static ssize_t ReadRequestBody(nghttp2_session* session, int32_t stream_id,
                                 uint8_t* buf, size_t length,
                                 uint32_t* data_flags,
                                 nghttp2_data_source* source, void* user_data) {
    Loop* loop = Conn(user_data)->loop;
    Call* call = loop->FindCall(reinterpret_cast<uintptr_t>(source->ptr));
    if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n =
        loop->CopyOut(!call->routed, call->request_body, call->request_sent,
                      buf, length, call->client, call->client_stream);
    if (call->request_sent == call->request_body.size()) {
      if (call->request_complete) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      } else if (n == 0) {
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }

  // The response body, then the trailers, to the client.
  static ssize_t ReadResponseBody(nghttp2_session* session, int32_t stream_id,
                                  uint8_t* buf, size_t length,
                                  uint32_t* data_flags,
                                  nghttp2_data_source* source,
                                  void* user_data) {
    Loop* loop = Conn(user_data)->loop;
    Call* call = loop->FindCall(reinterpret_cast<uintptr_t>(source->ptr));
    if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n =
        loop->CopyOut(!call->routed, call->response_body, call->response_sent,
                      buf, length, call->up, call->up_stream);
    if (call->response_sent == call->response_body.size()) {
      if (call->trailers_done || call->up_closed) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (!call->trailers_done) {
          // The backend's stream ended without trailers: it broke.
          call->trailers = {{"grpc-status", std::to_string(kUnavailable)},
                            {"grpc-message",
                             "pitstopd lost the stream to its admin "
                             "service; retry the call"}};
        }
        std::vector<nghttp2_nv> nva = NvList(call->trailers);
        nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
      } else if (n == 0) {
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }

  // --- connections ---

  void Watch(int fd, uint32_t events, void* ptr) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = ptr;
    CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
  }

  Connection* AddConnection(int fd, Peer peer) {
    auto conn = std::make_unique<Connection>();
    conn->id = ++next_connection_;
    conn->fd = fd;
    conn->peer = peer;
    conn->loop = this;
    if (peer == Peer::kClient) {
      nghttp2_session_server_new2(&conn->session, callbacks_, conn.get(),
                                  option_);
    } else {
      nghttp2_session_client_new2(&conn->session, callbacks_, conn.get(),
                                  option_);
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 4096},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings,
                            peer == Peer::kClient ? 2 : 3);
    nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0,
                                          kConnectionWindow);
    Watch(fd, EPOLLIN, conn.get());
    Connection* raw = conn.get();
    connections_[raw->id] = std::move(conn);
    MarkDirty(raw);
    return raw;
  }

  void Accept() {
    while (true) {
      const int fd =
          ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          LogWarning("pitstopd", ErrnoText("router: accept"));
        }
        return;
      }
      AddConnection(fd, Peer::kClient);
    }
  }

  void Read(Connection* conn) {
    if (conn->dead) return;
    // At most a megabyte, then the others' turn (epoll reports it again).
    for (int reads = 0; reads < 16; ++reads) {
      const ssize_t n = ::recv(conn->fd, buffer_, sizeof buffer_, 0);
      if (n > 0) {
        const ssize_t used = nghttp2_session_mem_recv(
            conn->session, reinterpret_cast<const uint8_t*>(buffer_),
            static_cast<size_t>(n));
        MarkDirty(conn);
        if (used < 0) {
          Kill(conn, absl::StrCat("HTTP/2 error: ",
                                  nghttp2_strerror(static_cast<int>(used))));
          return;
        }
        if (static_cast<size_t>(n) < sizeof buffer_) return;
        continue;
      }
      if (n == 0) {
        Kill(conn, "the peer closed the connection");
        return;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        Kill(conn, ErrnoText("recv"));
      }
      return;
    }
  }

  void MarkDirty(Connection* conn) {
    if (conn->dirty || conn->dead) return;
    conn->dirty = true;
    dirty_.push_back(conn);
  }

  void Flush(Connection* conn) {
    while (!conn->dead) {
      while (conn->out.size() - conn->out_sent < kFlushChunk) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(conn->session, &data);
        if (n < 0) {
          Kill(conn, absl::StrCat("HTTP/2 error: ",
                                  nghttp2_strerror(static_cast<int>(n))));
          return;
        }
        if (n == 0) break;
        conn->out.append(reinterpret_cast<const char*>(data),
                         static_cast<size_t>(n));
      }
      if (conn->out_sent == conn->out.size()) break;
      const ssize_t w = ::send(conn->fd, conn->out.data() + conn->out_sent,
                               conn->out.size() - conn->out_sent, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          SetPollOut(conn, true);
          return;
        }
        Kill(conn, ErrnoText("send"));
        return;
      }
      conn->out_sent += static_cast<size_t>(w);
      if (conn->out_sent == conn->out.size()) {
        conn->out.clear();
        conn->out_sent = 0;
      } else if (conn->out_sent >= kFlushChunk) {
        // A connection that never drains whole keeps only what is unsent.
        conn->out.erase(0, conn->out_sent);
        conn->out_sent = 0;
      }
    }
    if (conn->dead) return;
    SetPollOut(conn, false);
    if (!nghttp2_session_want_read(conn->session) &&
        !nghttp2_session_want_write(conn->session)) {
      Kill(conn, "the connection finished (GOAWAY)");
    }
  }

  void SetPollOut(Connection* conn, bool on) {
    if (conn->polling_out == on) return;
    conn->polling_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.ptr = conn;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev);
  }

  void Kill(Connection* conn, std::string reason) {
    if (conn->dead) return;
    conn->dead = true;
    conn->dead_reason = std::move(reason);
    dead_.push_back(conn);
  }

  // Tears down dead connections; their calls learn of it.
  void Reap() {
    while (!dead_.empty()) {
      Connection* conn = dead_.back();
      dead_.pop_back();
      if (conn->dirty) {
        dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), conn),
                     dirty_.end());
      }
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
      for (uint64_t id : conn->calls) {
        Call* call = FindCall(id);
        if (call == nullptr) continue;
        if (conn->peer == Peer::kClient) {
          call->client_closed = true;
          call->client = nullptr;
        } else if (call->up == conn) {
          call->up = nullptr;
          call->up_closed = true;
          // A request whose headers never left cannot have reached the
          // driver.
          (call->up_headers_sent ? call->up_lost : call->up_refused) = true;
          call->up_lost_reason = conn->dead_reason;
        }
        Schedule(call);
      }
      if (conn->backend != nullptr) {
        conn->backend->client = nullptr;
        Kill(conn->backend, "its client's connection closed");
      }
      if (conn->client != nullptr && conn->client->backend == conn) {
        conn->client->backend = nullptr;
      }
      if (conn->peer == Peer::kDriver) {
        auto pool = pools_.find(conn->instance_id);
        if (pool != pools_.end()) {
          auto& v = pool->second;
          v.erase(std::remove(v.begin(), v.end(), conn), v.end());
          if (v.empty()) pools_.erase(pool);
        }
      }
      nghttp2_session_del(conn->session);
      ::close(conn->fd);
      connections_.erase(conn->id);
    }
  }

  // A connection to the instance of `route`, opened if the instance has
  // fewer than connections_per_instance; nullptr when it refuses.
  Connection* DriverConnection(const Route& route, std::string* error) {
    std::vector<Connection*>& pool = pools_[route.instance_id];
    pool.erase(
        std::remove_if(pool.begin(), pool.end(),
                       [](Connection* c) { return c->dead || c->going_away; }),
        pool.end());
    if (pool.size() <
        static_cast<size_t>(router_.options_.connections_per_instance)) {
      const std::string& path =
          static_cast<GrpcDriverEndpoint&>(*route.endpoint).socket_path();
      const int fd = ConnectUnixSocket(path);
      if (fd < 0) *error = ErrnoText(absl::StrCat("connect to ", path));
      if (fd >= 0) {
        Connection* conn = AddConnection(fd, Peer::kDriver);
        conn->instance_id = route.instance_id;
        pool.push_back(conn);
        return conn;
      }
      if (pool.empty()) {
        pools_.erase(route.instance_id);
        return nullptr;
      }
    }
    return pool[next_pick_++ % pool.size()];
  }

  // The passage from a client connection to the in-process server.
  Connection* BackendFor(Connection* client) {
    if (client->backend != nullptr && !client->backend->going_away) {
      return client->backend;
    }
    if (client->backend != nullptr) {
      // Going away: it ends once its streams have; new ones get a new
      // passage.
      client->backend->client = nullptr;
      client->backend = nullptr;
    }
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                     fds) != 0) {
      LogError("pitstopd", ErrnoText("router: socketpair"));
      return nullptr;
    }
    grpc::AddInsecureChannelFromFd(backend_, fds[1]);  // takes fds[1]
    Connection* conn = AddConnection(fds[0], Peer::kBackend);
    conn->client = client;
    client->backend = conn;
    return conn;
  }

  // --- calls ---

  void NewCall(Connection* client, int32_t stream_id) {
    auto call = std::make_unique<Call>();
    call->id = ++next_call_;
    call->client = client;
    call->client_stream = stream_id;
    nghttp2_session_set_stream_user_data(client->session, stream_id,
                                         UserData(call.get()));
    client->calls.insert(call->id);
    calls_[call->id] = std::move(call);
  }

  Call* FindCall(uint64_t id) {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : it->second.get();
  }

  void Schedule(Call* call) {
    if (call->scheduled) return;
    call->scheduled = true;
    work_.push_back(call->id);
  }

  void RunPosted() {
    for (auto& task : mailbox_->Take()) task();
  }

  // Advances every call that has news, tears down what died and writes
  // what is queued, until nothing changes.
  void Settle() {
    while (!work_.empty() || !dead_.empty() || !dirty_.empty()) {
      while (!work_.empty()) {
        const uint64_t id = work_.front();
        work_.pop_front();
        Call* call = FindCall(id);
        if (call == nullptr) continue;
        call->scheduled = false;
        Advance(call);
      }
      Reap();
      flushing_.swap(dirty_);
      for (Connection* conn : flushing_) {
        conn->dirty = false;
        Flush(conn);
      }
      flushing_.clear();
    }
  }

  int WaitMillis() const {
    if (!work_.empty() || !dirty_.empty()) return 0;
    if (timers_.empty()) return -1;
    const absl::Duration left = timers_.begin()->first - absl::Now();
    if (left <= absl::ZeroDuration()) return 0;
    return static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
        60000));
  }

  void FireTimers() {
    const absl::Time now = absl::Now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      Call* call = FindCall(timers_.begin()->second);
      timers_.erase(timers_.begin());
      CHECK(call != nullptr);  // a call's timer goes with it
      call->timer.reset();
      if (call->up == nullptr) continue;  // answered; not advanced yet
      call->timed_out = true;
      AbandonForward(call);
    }
  }

  void Advance(Call* call) {
    if (call->client_closed) {
      Destroy(call);
      return;
    }
    if (!call->classified) {
      if (!call->headers_done) return;
      Classify(call);
    }
    // Refused by Classify (an unknown method): nothing to forward.
    if (!call->routed && !call->up_started && call->response_submitted) return;
    if (call->routed) {
      AdvanceRouted(call);
    } else {
      AdvancePassThrough(call);
    }
  }

  void Classify(Call* call) {
    call->classified = true;
    if (!call->routed) {
      for (absl::string_view prefix : kBackendPrefixes) {
        if (absl::StartsWith(call->method, prefix)) return;  // pass through
      }
      Respond(
          call, kUnimplemented,
          absl::StrCat("unknown method ", call->method,
                       "; pitstopd serves pitstop.driver.v1.StorageService, "
                       "NetworkService and HypervisorService (routed to "
                       "drivers), pitstop.supervisor.v1.AdminService, "
                       "grpc.health.v1.Health and server reflection"));
      return;
    }
    call->counted = router_.CallStarted();
    if (!call->counted) {
      Respond(call, kUnavailable,
              "pitstopd is shutting down; retry against its replacement");
      return;
    }
    if (const std::string* timeout =
            Find(call->request_headers, "grpc-timeout")) {
      if (auto d = ParseGrpcTimeout(*timeout)) {
        call->deadline = absl::Now() + *d;
      }
    }
  }

  // Sends trailers-only `code` and `message` to the client, unless a
  // response is already on its way.
  void Respond(Call* call, int code, absl::string_view message) {
    if (call->response_submitted || call->client == nullptr) return;
    call->response_submitted = true;
    call->phase = Call::Phase::kResponding;
    const Headers headers = {{":status", "200"},
                             {"content-type", "application/grpc"},
                             {"grpc-status", std::to_string(code)},
                             {"grpc-message", PercentEncode(message)}};
    std::vector<nghttp2_nv> nva = NvList(headers);
    nghttp2_submit_response(call->client->session, call->client_stream,
                            nva.data(), nva.size(), nullptr);
    if (!call->request_complete) {
      // Answered before the caller finished sending (an unknown method, a
      // request over the limit): the rest of its request is not wanted.
      nghttp2_submit_rst_stream(call->client->session, NGHTTP2_FLAG_NONE,
                                call->client_stream, NGHTTP2_NO_ERROR);
    }
    MarkDirty(call->client);
  }

  void Respond(Call* call, const absl::Status& status) {
    Respond(call, static_cast<int>(status.code()), status.message());
  }

  // Forwards the response headers (with the body and trailers behind them)
  // to the client.
  void SubmitResponse(Call* call) {
    call->response_submitted = true;
    call->phase = Call::Phase::kResponding;
    std::vector<nghttp2_nv> nva = NvList(call->response_headers);
    nghttp2_data_provider body = Provider(call, &ReadResponseBody);
    nghttp2_submit_response(call->client->session, call->client_stream,
                            nva.data(), nva.size(),
                            call->trailers_only ? nullptr : &body);
    MarkDirty(call->client);
  }

  void AdvancePassThrough(Call* call) {
    if (!call->up_started) {
      call->up_started = true;
      Connection* backend = BackendFor(call->client);
      if (backend == nullptr) {
        Respond(call, kUnavailable,
                "pitstopd cannot reach its own admin service; see its log");
        return;
      }
      std::vector<nghttp2_nv> nva = NvList(call->request_headers);
      nghttp2_data_provider body = Provider(call, &ReadRequestBody);
      const int32_t stream =
          nghttp2_submit_request(backend->session, nullptr, nva.data(),
                                 nva.size(), &body, UserData(call));
      if (stream < 0) {
        Respond(call, kUnavailable,
                absl::StrCat("pitstopd could not pass the call to its admin "
                             "service: ",
                             nghttp2_strerror(stream)));
        return;
      }
      call->up = backend;
      call->up_stream = stream;
      backend->calls.insert(call->id);
    }
    if (call->up != nullptr) {
      nghttp2_session_resume_data(call->up->session, call->up_stream);
      MarkDirty(call->up);
    }
    if (!call->response_submitted) {
      if (call->response_headers_done) {
        SubmitResponse(call);
      } else if (call->up_closed) {
        Respond(call, kUnavailable,
                call->up_lost
                    ? absl::StrCat("pitstopd lost its admin service's "
                                   "stream: ",
                                   call->up_lost_reason)
                    : absl::StrCat("pitstopd's admin service reset the "
                                   "stream (HTTP/2 error ",
                                   call->up_error, ")"));
      }
      return;
    }
    nghttp2_session_resume_data(call->client->session, call->client_stream);
    MarkDirty(call->client);
  }

  void AdvanceRouted(Call* call) {
    switch (call->phase) {
      case Call::Phase::kReceiving:
        if (call->too_large) {
          Respond(call, kResourceExhausted,
                  absl::StrCat("the request is larger than pitstopd's limit "
                               "of ",
                               router_.options_.max_message_bytes, " bytes"));
          return;
        }
        if (call->over_budget) {
          Respond(call, kResourceExhausted,
                  absl::StrCat("this connection already has ",
                               kMaxBufferedPerClient >> 20,
                               " MiB of requests in flight; wait for some "
                               "to finish or use another connection"));
          return;
        }
        if (call->request_complete) OnRequest(call);
        return;
      case Call::Phase::kRouting:
        if (call->pending_route.has_value()) {
          absl::StatusOr<Route> route = std::move(*call->pending_route);
          call->pending_route.reset();
          OnRoute(call, std::move(route));
        }
        return;
      case Call::Phase::kForwarding:
        if (call->up_closed) OnForwarded(call);
        return;
      case Call::Phase::kResponding:
        return;
    }
  }

  void OnRequest(Call* call) {
    const std::string* driver = Find(call->request_headers, kDriverMetadataKey);
    if (driver == nullptr || driver->empty()) {
      Respond(call, kInvalidArgument,
              absl::StrCat("missing gRPC metadata key '", kDriverMetadataKey,
                           "' naming the driver to call (e.g. flashpool)"));
      return;
    }
    call->driver = *driver;
    std::optional<GrpcMessage> message = SplitUnaryBody(call->request_body);
    if (!message.has_value()) {
      Respond(call, kInvalidArgument,
              call->request_body.empty()
                  ? "the call carried no request message"
                  : "a unary call must carry exactly one request message");
      return;
    }
    if (message->compressed) {
      // The spec's answer to an encoding the server does not take.
      Respond(call, kUnimplemented,
              "pitstopd takes uncompressed requests only (grpc-encoding "
              "identity); turn compression off for calls to drivers");
      return;
    }
    if (absl::Status s = ReadCallContext(message->bytes, &call->context);
        !s.ok()) {
      Respond(call, s);
      return;
    }
    if (!call->context.resource().id().empty()) {
      call->resource = absl::StrCat(call->context.resource().type(), "/",
                                    call->context.resource().id());
    }
    Acquire(call, 0);
  }

  void Acquire(Call* call, uint64_t avoid_instance) {
    call->phase = Call::Phase::kRouting;
    const uint64_t id = call->id;
    // The answer comes at once on this thread, or later on the
    // supervisor's.
    router_.supervisor_.AcquireRoute(
        call->driver, call->resource, call->deadline,
        [this, mailbox = mailbox_, id](absl::StatusOr<Route> route) {
          if (mailbox->OnLoopThread()) {
            RouteArrived(id, std::move(route));
            return;
          }
          auto shared =
              std::make_shared<absl::StatusOr<Route>>(std::move(route));
          mailbox->Post(
              [this, id, shared] { RouteArrived(id, std::move(*shared)); });
        },
        avoid_instance);
  }

  void RouteArrived(uint64_t id, absl::StatusOr<Route> route) {
    Call* call = FindCall(id);
    if (call == nullptr) return;  // the caller went away; the lease ends
    call->pending_route = std::move(route);
    Schedule(call);
  }

  void OnRoute(Call* call, absl::StatusOr<Route> route) {
    if (!route.ok()) {
      Respond(call, route.status());
      return;
    }
    const DriverManifest& m = route->package->manifest;
    if (m.category != call->category) {
      Respond(call, kFailedPrecondition,
              absl::StrCat("driver ", call->driver, " is a ",
                           CategoryName(m.category), " driver: call ",
                           router_.services_.at(m.category), ", not ",
                           router_.services_.at(call->category)));
      return;
    }
    const std::string& type = call->context.resource().type();
    if (!type.empty() && !m.resource_types.empty() &&
        std::find(m.resource_types.begin(), m.resource_types.end(), type) ==
            m.resource_types.end()) {
      Respond(call, kInvalidArgument,
              absl::StrCat("driver ", call->driver, " has no resource type '",
                           type, "' (it declares: ",
                           absl::StrJoin(m.resource_types, ", "), ")"));
      return;
    }
    if (!call->validated) {
      // The bag is checked once, before the first attempt.
      call->validated = true;
      ValidatedBag bag = ValidatePropertyBag(m, call->context.properties());
      if (!bag.violations.empty()) {
        Respond(call, ViolationsStatus(call->driver, bag.violations));
        return;
      }
      if (bag.changed) AppendProperties(call, std::move(bag.properties));
    }
    call->route = *std::move(route);
    const absl::Time now = absl::Now();
    const absl::Time cap = now + m.timeouts.call;
    call->forward_deadline =
        call->deadline == absl::InfiniteFuture()
            ? std::min(cap, now + router_.options_.default_call_timeout)
            : std::min(call->deadline, cap);
    Forward(call);
  }

  // Hands the driver the validated bag without re-encoding the request:
  // a second occurrence of field 1 merges into the first, and a repeated map
  // key replaces the earlier value (the protobuf rule for maps).
  static void AppendProperties(Call* call, PropertyBag properties) {
    // Any operation request serializes as its field 1 alone here.
    v1::DeleteVolumeRequest patch;
    *patch.mutable_context()->mutable_properties() = std::move(properties);
    std::string message(SplitUnaryBody(call->request_body)->bytes);
    message += patch.SerializeAsString();
    call->request_body = FrameMessage(message);
  }

  // The attempt ends before anything reached the driver.
  void Refused(Call* call, std::string reason) {
    call->up_closed = true;
    call->up_refused = true;
    call->up_lost_reason = std::move(reason);
    Schedule(call);
  }

  void Forward(Call* call) {
    call->ResetForward();
    call->phase = Call::Phase::kForwarding;
    std::string error;
    Connection* conn = DriverConnection(call->route, &error);
    if (conn == nullptr) {
      Refused(call, std::move(error));
      return;
    }
    const std::string* content_type =
        Find(call->request_headers, "content-type");
    Headers headers = {
        {":method", "POST"},
        {":scheme", "http"},
        {":path", call->method},
        {":authority", "localhost"},
        {"te", "trailers"},
        {"content-type",
         content_type != nullptr ? *content_type : "application/grpc"},
        {"grpc-timeout",
         FormatGrpcTimeout(call->forward_deadline - absl::Now())}};
    // None of the caller's own metadata: it is meant for the daemon (it may
    // carry credentials), and a driver is not trusted with it. What a driver
    // needs travels in the CallContext.
    std::vector<nghttp2_nv> nva = NvList(headers);
    nghttp2_data_provider body = Provider(call, &ReadRequestBody);
    const int32_t stream = nghttp2_submit_request(
        conn->session, nullptr, nva.data(), nva.size(), &body, UserData(call));
    if (stream < 0) {
      // Stream ids ran out: this connection takes no more calls, and ends
      // once its streams have.
      conn->going_away = true;
      nghttp2_session_terminate_session(conn->session, NGHTTP2_NO_ERROR);
      MarkDirty(conn);
      Refused(call, nghttp2_strerror(stream));
      return;
    }
    call->up = conn;
    call->up_stream = stream;
    call->up_started = true;
    conn->calls.insert(call->id);
    MarkDirty(conn);
    call->timer = timers_.emplace(call->forward_deadline, call->id);
    // A replaced instance that does not drain in time gives its calls up.
    const uint64_t id = call->id;
    call->route.lease->SetCancel([this, mailbox = mailbox_, id] {
      mailbox->Post([this, id] {
        Call* c = FindCall(id);
        if (c == nullptr || c->phase != Call::Phase::kForwarding ||
            c->up == nullptr) {
          return;
        }
        c->cancelled_by_drain = true;
        AbandonForward(c);
      });
    });
  }

  // Resets the forwarded stream; the call then answers for itself.
  void AbandonForward(Call* call) {
    Connection* conn = call->up;
    if (conn == nullptr) return;
    // Frames still coming on it find no call: StreamCall checks the stream.
    nghttp2_submit_rst_stream(conn->session, NGHTTP2_FLAG_NONE, call->up_stream,
                              NGHTTP2_CANCEL);
    conn->calls.erase(call->id);
    MarkDirty(conn);
    call->up = nullptr;
    call->up_closed = true;
    call->up_error = NGHTTP2_CANCEL;
    Schedule(call);
  }

  void CancelTimer(Call* call) {
    if (!call->timer.has_value()) return;
    timers_.erase(*call->timer);
    call->timer.reset();
  }

  void ReleaseLease(Call* call) {
    if (call->route.lease == nullptr) return;
    call->route.lease->SetCancel(nullptr);
    call->route.lease.reset();
  }

  void OnForwarded(Call* call) {
    // The driver is done with the call: its resource is free on that
    // instance from now on, also while the answer is written or the call
    // is sent again elsewhere.
    ReleaseLease(call);
    CancelTimer(call);
    const Route& route = call->route;
    if (call->cancelled_by_drain) {
      Respond(call, kCancelled,
              absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                           ") was being replaced and did not finish the call "
                           "within its drain timeout; the call was "
                           "cancelled"));
      return;
    }
    if (call->timed_out) {
      Respond(call, kDeadlineExceeded,
              absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                           ") did not answer before the call's deadline"));
      return;
    }
    if (call->response_too_large) {
      Respond(call, kResourceExhausted,
              absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                           ") answered with more than pitstopd's limit of ",
                           router_.options_.max_message_bytes, " bytes"));
      return;
    }
    const bool answered = call->trailers_done || call->trailers_only;
    if (!call->up_lost && !call->up_refused && call->up_error == 0 &&
        answered) {
      SubmitResponse(call);
      return;
    }
    if (call->up_refused ||
        (!call->up_lost && call->up_error == NGHTTP2_REFUSED_STREAM)) {
      // The request never reached a process, so it is safe to send it to
      // the instance that replaces this one.
      if (++call->connect_retries <= 2) {
        Acquire(call, route.instance_id);
        return;
      }
      Respond(call, kUnavailable,
              absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                           ") refused the call: ", call->up_lost_reason,
                           "; retry it"));
      return;
    }
    if (!call->up_lost) {
      Respond(call, call->up_error == NGHTTP2_CANCEL ? kCancelled : kInternal,
              absl::StrCat("driver ", call->driver, " (pid ", route.pid,
                           ") reset the call (HTTP/2 error ", call->up_error,
                           ") without an answer"));
      return;
    }
    // The connection broke during the call: the process died. Drivers
    // must apply an operation id at most once, so a call that carries one
    // is sent once more, to the replacement instance.
    if (!call->context.operation_id().empty() && !call->resent_after_loss) {
      call->resent_after_loss = true;
      Acquire(call, route.instance_id);
      return;
    }
    Respond(call, kUnavailable,
            absl::StrCat(
                "driver ", call->driver, " (pid ", route.pid,
                ") became unavailable during the call: ", call->up_lost_reason,
                call->context.operation_id().empty()
                    ? "; the call had no operation id, so it was "
                      "not resent: retry it"
                    : "; it was resent once and failed again"));
  }

  void Destroy(Call* call) {
    if (call->client != nullptr) call->client->buffered -= call->buffered;
    if (call->up != nullptr) AbandonForward(call);
    ReleaseLease(call);
    CancelTimer(call);
    if (call->client != nullptr) call->client->calls.erase(call->id);
    if (call->counted) router_.CallEnded();
    calls_.erase(call->id);
  }

  // Constant after construction
  FrameRouter& router_;
  const int listen_fd_;
  grpc::Server* const backend_;
  int epoll_fd_ = -1;
  const std::shared_ptr<Mailbox> mailbox_ = std::make_shared<Mailbox>();
  nghttp2_session_callbacks* callbacks_ = nullptr;
  nghttp2_option* option_ = nullptr;

  // Touched only by the loop's thread
  char listen_tag_ = 0;  // epoll data of the listening socket
  char wake_tag_ = 0;    // ... and of wake_fd_
  bool stop_ = false;
  char buffer_[kReadChunk];
  uint64_t next_connection_ = 0;
  uint64_t next_call_ = 0;
  size_t next_pick_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;
  std::unordered_map<uint64_t, std::vector<Connection*>> pools_;
  std::deque<uint64_t> work_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> flushing_;  // Settle's, reused
  std::vector<Connection*> dead_;
  Timers timers_;
};

FrameRouter::FrameRouter(Supervisor& supervisor, FrameRouterOptions options)
    : supervisor_(supervisor), options_(options) {
  // Referencing a message of each file also links its descriptors in, which
  // server reflection needs.
  const std::pair<const google::protobuf::FileDescriptor*, DriverCategory>
      files[] = {
          {v1::CreateVolumeRequest::descriptor()->file(),
           DriverCategory::kStorage},
          {v1::ImplementNetworkRequest::descriptor()->file(),
           DriverCategory::kNetwork},
          {v1::StartVmRequest::descriptor()->file(),
           DriverCategory::kHypervisor},
      };
  for (const auto& [file, category] : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      services_[category] = service->full_name();
      for (int m = 0; m < service->method_count(); ++m) {
        methods_[absl::StrCat("/", service->full_name(), "/",
                              service->method(m)->name())] = category;
      }
    }
  }
}

FrameRouter::~FrameRouter() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

namespace {

absl::StatusOr<int> ListenUnix(const std::string& address) {
  const std::string path = address.substr(5);
  sockaddr_un addr;
  if (!UnixAddress(path, &addr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "': the path is too long"));
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", address, ": ", path,
                       " exists and is not a socket; remove it or choose "
                       "another --listen"));
    }
    if (UnixSocketAcceptsConnections(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on ", address,
                       ": another process is serving on it; stop it or "
                       "choose another --listen"));
    }
    ::unlink(path.c_str());  // left by a daemon that is gone
  }
  const int fd =
      ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(ErrnoText("socket"));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", address, ": ", error,
                     "; is the directory missing or not writable?"));
  }
  return fd;
}

absl::StatusOr<int> ListenTcp(const std::string& address, int* port) {
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  const std::string service = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(),
                             service.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "': ", ::gai_strerror(rc)));
  }
  std::string error = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        ::listen(fd, SOMAXCONN) == 0) {
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ", address, ": ", error, "; is the address in use?"));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  *port = ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

}  // namespace

absl::StatusOr<std::string> FrameRouter::Listen(const std::string& address) {
  CHECK(listen_fd_ < 0);
  if (absl::StartsWith(address, "unix:")) {
    absl::StatusOr<int> fd = ListenUnix(address);
    if (!fd.ok()) return fd.status();
    listen_fd_ = *fd;
    return address;
  }
  int port = 0;
  absl::StatusOr<int> fd = ListenTcp(address, &port);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  return absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
}

void FrameRouter::Start(grpc::Server* backend) {
  CHECK(listen_fd_ >= 0 && loop_ == nullptr);
  loop_ = std::make_unique<Loop>(*this, listen_fd_, backend);
  thread_ = std::thread([this] { loop_->Run(); });
}

void FrameRouter::Stop() {
  if (loop_ == nullptr) return;
  if (thread_.joinable()) {
    loop_->RequestStop();
    thread_.join();
  }
  loop_.reset();
}

void FrameRouter::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

bool FrameRouter::AwaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

bool FrameRouter::CallStarted() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  ++in_flight_;
  return true;
}

void FrameRouter::CallEnded() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

}  // namespace pitstop
