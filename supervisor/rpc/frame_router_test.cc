// The frame router in-process: a real FrameRouter and its loop, a
// hand-written RouteSource, and both ends of the wire written here with
// nghttp2 (a caller and a fake driver on Unix sockets). No daemon, no driver
// process; every wait is for an event, with a deadline.

#include "supervisor/rpc/frame_router.h"

#include <google/protobuf/descriptor.h>
#include <linux/sockios.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/core/route_source.h"
#include "supervisor/rpc/grpc_wire.h"
#include "supervisor/rpc/http2_connection.h"
#include "supervisor/rpc/unix_socket.h"

namespace pitstop {
namespace {

namespace v1 = pitstop::driver::v1;
constexpr char kMethod[] = "/pitstop.driver.v1.StorageService/CreateVolume";

// Hands out a route to the one fake driver, at once, counting requests.
class FakeRoutes : public RouteSource {
 public:
  explicit FakeRoutes(std::string socket_path)
      : socket_path_(std::move(socket_path)) {
    auto package = std::make_shared<DriverPackage>();
    package->manifest.name = "fake";
    package->manifest.category = DriverCategory::kStorage;
    package->manifest.resource_types = {"volume"};
    package->manifest.allow_unknown_properties = true;
    package_ = std::move(package);
  }

  void AcquireRoute(RouteRequest request, RouteCallback done) override {
    Route route;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      route.instance_id = requests_.size();
    }
    route.driver = request.driver;
    route.pid = 4242;
    route.socket_path = socket_path_;
    route.package = package_;
    route.lease = load_->Begin(request.resource);
    done(std::move(route));
  }

  std::vector<RouteRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  int calls_in_flight() const { return load_->calls(); }

 private:
  const std::string socket_path_;
  std::shared_ptr<const DriverPackage> package_;
  const std::shared_ptr<InstanceLoad> load_ =
      std::make_shared<InstanceLoad>([] {});
  absl::Mutex mu_;
  std::vector<RouteRequest> requests_ ABSL_GUARDED_BY(mu_);
};

struct Stream {
  Headers headers;   // the first HEADERS frame
  Headers trailers;  // a second one
  int header_frames = 0;
  std::string data;
  int data_frames = 0;
  bool ended = false;  // END_STREAM received
  bool closed = false;
  uint32_t error = 0;

  std::string GrpcStatus() const {
    const std::string* s = FindHeader(trailers, "grpc-status");
    if (s == nullptr) s = FindHeader(headers, "grpc-status");
    return s == nullptr ? "" : *s;
  }
};

// One end of an HTTP/2 connection, driven by the test's own thread.
class Peer {
 public:
  using OnRequest = std::function<void(Peer&, int32_t stream)>;

  Peer(int fd, bool server, OnRequest on_request = nullptr)
      : fd_(fd), on_request_(std::move(on_request)) {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &OnBegin);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrame);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnClose);
    if (server) {
      nghttp2_session_server_new(&session_, cb, this);
    } else {
      nghttp2_session_client_new(&session_, cb, this);
    }
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Peer() {
    nghttp2_session_del(session_);
    ::close(fd_);
  }

  nghttp2_session* session() { return session_; }
  int fd() const { return fd_; }
  std::map<int32_t, Stream>& streams() { return streams_; }
  bool goaway() const { return goaway_; }
  bool eof() const { return eof_; }

  // What the session has to send, without sending it.
  std::string TakeOutput() {
    std::string out;
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out.append(reinterpret_cast<const char*>(data), n);
    }
    return out;
  }
  void Write(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      bytes.remove_prefix(n);
    }
  }
  void Send() { Write(TakeOutput()); }
  void Receive() {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) eof_ = true;
    if (n <= 0) return;
    REQUIRE(nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf),
                                     n) == n);
  }

  // Answers `stream` with headers, `body` as the message and grpc-status 0.
  void Answer(int32_t stream, std::string body) {
    bodies_[stream] = std::move(body);
    const Headers headers = {{":status", "200"},
                             {"content-type", "application/grpc"}};
    std::vector<nghttp2_nv> nva = NvList(headers);
    nghttp2_data_provider provider{};
    provider.source.ptr = &bodies_[stream];
    provider.read_callback = &ReadBody;
    nghttp2_submit_response(session_, stream, nva.data(), nva.size(),
                            &provider);
  }

 private:
  static Peer* Self(void* p) { return static_cast<Peer*>(p); }
  static int OnBegin(nghttp2_session*, const nghttp2_frame* f, void* p) {
    Self(p)->streams_[f->hd.stream_id].header_frames++;
    return 0;
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* f,
                      const uint8_t* name, size_t name_length,
                      const uint8_t* value, size_t value_length, uint8_t,
                      void* p) {
    Stream& s = Self(p)->streams_[f->hd.stream_id];
    (s.header_frames > 1 ? s.trailers : s.headers)
        .emplace_back(
            std::string(reinterpret_cast<const char*>(name), name_length),
            std::string(reinterpret_cast<const char*>(value), value_length));
    return 0;
  }
  static int OnFrame(nghttp2_session*, const nghttp2_frame* f, void* p) {
    if (f->hd.type == NGHTTP2_GOAWAY) Self(p)->goaway_ = true;
    if (f->hd.type == NGHTTP2_DATA)
      Self(p)->streams_[f->hd.stream_id].data_frames++;
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      Self(p)->streams_[f->hd.stream_id].ended = true;
      if (Self(p)->on_request_) Self(p)->on_request_(*Self(p), f->hd.stream_id);
    }
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t stream,
                    const uint8_t* data, size_t length, void* p) {
    Self(p)->streams_[stream].data.append(reinterpret_cast<const char*>(data),
                                          length);
    return 0;
  }
  static int OnClose(nghttp2_session*, int32_t stream, uint32_t error,
                     void* p) {
    Stream& s = Self(p)->streams_[stream];
    s.closed = true;
    s.error = error;
    return 0;
  }
  static ssize_t ReadBody(nghttp2_session* session, int32_t stream,
                          uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* body = static_cast<std::string*>(source->ptr);
    const size_t n = std::min(length, body->size());
    std::memcpy(buf, body->data(), n);
    body->erase(0, n);
    if (body->empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const Headers trailers = {{"grpc-status", "0"}};
      std::vector<nghttp2_nv> nva = NvList(trailers);
      nghttp2_submit_trailer(session, stream, nva.data(), nva.size());
    }
    return static_cast<ssize_t>(n);
  }

  const int fd_;
  nghttp2_session* session_ = nullptr;
  const OnRequest on_request_;
  std::map<int32_t, Stream> streams_;
  std::map<int32_t, std::string> bodies_;
  bool goaway_ = false;
  bool eof_ = false;
};

// What the fake driver does with its n-th request (0-based).
using Behaviour = std::function<void(Peer&, int32_t stream, int n)>;

// A router on a fresh Unix socket, a fake driver behind it, and a caller.
class Bench {
 public:
  explicit Bench(Behaviour behaviour, FrameRouterOptions options = {})
      : dir_(MakeDir()),
        routes_(dir_ + "/driver.sock"),
        router_(routes_, options),
        behaviour_(std::move(behaviour)) {
    driver_listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr;
    REQUIRE(UnixAddress(dir_ + "/driver.sock", &addr));
    REQUIRE(::bind(driver_listener_, reinterpret_cast<sockaddr*>(&addr),
                   sizeof addr) == 0);
    REQUIRE(::listen(driver_listener_, 16) == 0);
    REQUIRE(router_.Listen("unix:" + dir_ + "/router.sock").ok());
    router_.Start(nullptr);  // no passed-through streams here
    const int fd = ConnectUnixSocket(dir_ + "/router.sock");
    REQUIRE(fd >= 0);
    caller_ = std::make_unique<Peer>(fd, /*server=*/false);
  }
  ~Bench() {
    router_.Stop();
    ::close(driver_listener_);
    std::filesystem::remove_all(dir_);
  }

  Peer& caller() { return *caller_; }
  FakeRoutes& routes() { return routes_; }
  FrameRouter& router() { return router_; }
  std::vector<std::unique_ptr<Peer>>& drivers() { return drivers_; }
  int driver_requests() const { return requests_; }
  // The driver side's stream of its n-th request.
  Stream* DriverStream(int n) {
    if (n >= static_cast<int>(seen_.size())) return nullptr;
    return &seen_[n].first->streams()[seen_[n].second];
  }

  // Submits a routed unary call of `message` to `driver`, its body in DATA
  // frames of at most `chunk` bytes; returns the stream id. Not sent yet.
  int32_t Submit(const std::string& message, Headers extra = {},
                 size_t chunk = 16384) {
    body_ = FrameMessage(message);
    chunk_ = chunk;
    Headers headers = {
        {":method", "POST"},       {":scheme", "http"},
        {":path", kMethod},        {":authority", "localhost"},
        {"te", "trailers"},        {"content-type", "application/grpc"},
        {"pitstop-driver", "fake"}};
    for (auto& h : extra) headers.push_back(std::move(h));
    std::vector<nghttp2_nv> nva = NvList(headers);
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &ReadRequest;
    return nghttp2_submit_request(caller_->session(), nullptr, nva.data(),
                                  nva.size(), &provider, nullptr);
  }

  // Moves bytes both ways until `done` holds; false after 10 seconds.
  bool RunUntil(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done()) {
      if (absl::Now() > deadline) return false;
      caller_->Send();
      for (auto& d : drivers_) d->Send();
      std::vector<pollfd> fds = {{driver_listener_, POLLIN, 0},
                                 {caller_->fd(), POLLIN, 0}};
      for (auto& d : drivers_) fds.push_back({d->fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents != 0) AcceptDriver();
      if (fds[1].revents != 0) caller_->Receive();
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) drivers_[i - 2]->Receive();
      }
    }
    return true;
  }

 private:
  static std::string MakeDir() {
    char tmpl[] = "/tmp/frame_router_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    return tmpl;
  }
  void AcceptDriver() {
    const int fd = ::accept4(driver_listener_, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(fd >= 0);
    drivers_.push_back(std::make_unique<Peer>(
        fd, /*server=*/true, [this](Peer& peer, int32_t stream) {
          seen_.emplace_back(&peer, stream);
          behaviour_(peer, stream, requests_++);
        }));
  }
  static ssize_t ReadRequest(nghttp2_session*, int32_t, uint8_t* buf,
                             size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void*) {
    auto* self = static_cast<Bench*>(source->ptr);
    const size_t n = std::min({length, self->chunk_, self->body_.size()});
    std::memcpy(buf, self->body_.data(), n);
    self->body_.erase(0, n);
    if (self->body_.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  const std::string dir_;
  FakeRoutes routes_;
  FrameRouter router_;
  const Behaviour behaviour_;
  int driver_listener_ = -1;
  std::unique_ptr<Peer> caller_;
  std::vector<std::unique_ptr<Peer>> drivers_;
  std::vector<std::pair<Peer*, int32_t>> seen_;
  int requests_ = 0;
  std::string body_;
  size_t chunk_ = 16384;
};

std::string Request(const std::string& pool_id = "pool-1") {
  v1::CreateVolumeRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id("v1");
  req.set_pool_id(pool_id);
  return req.SerializeAsString();
}

void Echo(Peer& peer, int32_t stream, int) {
  peer.Answer(stream, peer.streams()[stream].data);
}

// Waits until the peer's socket has given everything to the other side.
bool PeerReadAll(int fd) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int queued = 1;
  while (::ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0) {
    if (absl::Now() > deadline) return false;
    ::poll(nullptr, 0, 1);
  }
  return queued == 0;
}

TEST_CASE("a call whose headers arrive split across reads is routed",
          "[rpc][router]") {
  Bench bench(&Echo);
  Peer& caller = bench.caller();
  const std::string preface = caller.TakeOutput();
  const int32_t stream = bench.Submit(Request());
  const std::string call = caller.TakeOutput();
  // The first frame is the HEADERS frame: cut inside its header block.
  const size_t length =
      (uint8_t(call[0]) << 16) | (uint8_t(call[1]) << 8) | uint8_t(call[2]);
  REQUIRE(call[3] == NGHTTP2_HEADERS);
  const size_t cut = 9 + length / 2;
  caller.Write(preface + call.substr(0, cut));
  REQUIRE(PeerReadAll(caller.fd()));
  caller.Write(call.substr(cut));
  REQUIRE(bench.RunUntil([&] { return caller.streams()[stream].closed; }));
  const Stream& s = caller.streams()[stream];
  INFO(s.GrpcStatus());
  REQUIRE(s.GrpcStatus() == "0");
  REQUIRE(s.data == FrameMessage(Request()));
  REQUIRE(bench.driver_requests() == 1);
}

TEST_CASE("a request in many DATA frames reaches the driver whole",
          "[rpc][router]") {
  Bench bench(&Echo);
  const std::string message = Request(std::string(100000, 'p'));
  const int32_t stream = bench.Submit(message, {}, /*chunk=*/1000);
  REQUIRE(
      bench.RunUntil([&] { return bench.caller().streams()[stream].closed; }));
  REQUIRE(bench.caller().streams()[stream].GrpcStatus() == "0");
  Stream* at_driver = bench.DriverStream(0);
  REQUIRE(at_driver != nullptr);
  REQUIRE(at_driver->data == FrameMessage(message));
  REQUIRE(bench.caller().streams()[stream].data == FrameMessage(message));
  REQUIRE(bench.caller().streams()[stream].data_frames > 1);
}

TEST_CASE("a driver that resets the stream fails the call as INTERNAL",
          "[rpc][router]") {
  Bench bench([](Peer& peer, int32_t stream, int) {
    nghttp2_submit_rst_stream(peer.session(), NGHTTP2_FLAG_NONE, stream,
                              NGHTTP2_INTERNAL_ERROR);
  });
  const int32_t stream = bench.Submit(Request());
  REQUIRE(
      bench.RunUntil([&] { return bench.caller().streams()[stream].closed; }));
  REQUIRE(bench.caller().streams()[stream].GrpcStatus() == "13");
  REQUIRE(bench.routes().requests().size() == 1);  // not resent
}

TEST_CASE("a stream the driver refuses is sent again twice, then UNAVAILABLE",
          "[rpc][router]") {
  Bench bench([](Peer& peer, int32_t stream, int) {
    nghttp2_submit_rst_stream(peer.session(), NGHTTP2_FLAG_NONE, stream,
                              NGHTTP2_REFUSED_STREAM);
  });
  const int32_t stream = bench.Submit(Request());
  REQUIRE(
      bench.RunUntil([&] { return bench.caller().streams()[stream].closed; }));
  REQUIRE(bench.caller().streams()[stream].GrpcStatus() == "14");
  const auto requests = bench.routes().requests();
  REQUIRE(requests.size() == 3);
  REQUIRE(requests[1].avoid_instance == 1);
  REQUIRE(requests[2].avoid_instance == 2);
  REQUIRE(bench.driver_requests() == 3);
}

TEST_CASE("a call beyond the driver's GOAWAY is sent again on a new connection",
          "[rpc][router]") {
  Bench bench([](Peer& peer, int32_t stream, int n) {
    if (n == 0) {
      nghttp2_submit_goaway(peer.session(), NGHTTP2_FLAG_NONE, 0,
                            NGHTTP2_NO_ERROR, nullptr, 0);
    } else {
      Echo(peer, stream, n);
    }
  });
  const int32_t stream = bench.Submit(Request());
  REQUIRE(
      bench.RunUntil([&] { return bench.caller().streams()[stream].closed; }));
  REQUIRE(bench.caller().streams()[stream].GrpcStatus() == "0");
  REQUIRE(bench.routes().requests().size() == 2);
  REQUIRE(bench.routes().requests()[1].avoid_instance == 1);
  REQUIRE(bench.drivers().size() == 2);
}

TEST_CASE(
    "a call whose deadline passes is DEADLINE_EXCEEDED and cancelled at the "
    "driver",
    "[rpc][router]") {
  Bench bench([](Peer&, int32_t, int) {});  // never answers
  const int32_t stream = bench.Submit(Request(), {{"grpc-timeout", "200m"}});
  REQUIRE(
      bench.RunUntil([&] { return bench.caller().streams()[stream].closed; }));
  REQUIRE(bench.caller().streams()[stream].GrpcStatus() == "4");
  REQUIRE(bench.RunUntil([&] {
    Stream* s = bench.DriverStream(0);
    return s != nullptr && s->closed;
  }));
  REQUIRE(bench.DriverStream(0)->error == NGHTTP2_CANCEL);
  REQUIRE(bench.routes().calls_in_flight() == 0);
}

TEST_CASE(
    "a caller that cancels has its stream at the driver cancelled and its "
    "lease released",
    "[rpc][router]") {
  Bench bench([](Peer&, int32_t, int) {});  // never answers
  const int32_t stream = bench.Submit(Request());
  REQUIRE(bench.RunUntil([&] { return bench.driver_requests() == 1; }));
  REQUIRE(bench.routes().calls_in_flight() == 1);
  nghttp2_submit_rst_stream(bench.caller().session(), NGHTTP2_FLAG_NONE, stream,
                            NGHTTP2_CANCEL);
  REQUIRE(bench.RunUntil([&] { return bench.DriverStream(0)->closed; }));
  REQUIRE(bench.DriverStream(0)->error == NGHTTP2_CANCEL);
  REQUIRE(
      bench.RunUntil([&] { return bench.routes().calls_in_flight() == 0; }));
  REQUIRE(bench.router().AwaitIdle(absl::Now() + absl::Seconds(10)));
}

TEST_CASE("a call of another category is FAILED_PRECONDITION naming both",
          "[rpc][router]") {
  Bench bench(&Echo);
  Peer& caller = bench.caller();
  const Headers headers = {
      {":method", "POST"},
      {":scheme", "http"},
      {":path", "/pitstop.driver.v1.NetworkService/DestroyNetwork"},
      {":authority", "localhost"},
      {"te", "trailers"},
      {"content-type", "application/grpc"},
      {"pitstop-driver", "fake"}};
  static std::string body = FrameMessage("");
  std::vector<nghttp2_nv> nva = NvList(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t,
                              uint32_t* flags, nghttp2_data_source*,
                              void*) -> ssize_t {
    std::memcpy(buf, body.data(), body.size());
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(body.size());
  };
  const int32_t stream = nghttp2_submit_request(
      caller.session(), nullptr, nva.data(), nva.size(), &provider, nullptr);
  REQUIRE(bench.RunUntil([&] { return caller.streams()[stream].closed; }));
  REQUIRE(caller.streams()[stream].GrpcStatus() == "9");
  const std::string* message =
      FindHeader(caller.streams()[stream].headers, "grpc-message");
  REQUIRE(message != nullptr);
  REQUIRE(message->find("StorageService") != std::string::npos);
  REQUIRE(message->find("NetworkService") != std::string::npos);
  REQUIRE(bench.driver_requests() == 0);
}

TEST_CASE("core's category service names are the protos' services", "[rpc]") {
  REQUIRE(
      CategoryServiceName(DriverCategory::kStorage) ==
      v1::CreateVolumeRequest::descriptor()->file()->service(0)->full_name());
  REQUIRE(CategoryServiceName(DriverCategory::kNetwork) ==
          v1::ImplementNetworkRequest::descriptor()
              ->file()
              ->service(0)
              ->full_name());
  REQUIRE(CategoryServiceName(DriverCategory::kHypervisor) ==
          v1::StartVmRequest::descriptor()->file()->service(0)->full_name());
}

}  // namespace
}  // namespace pitstop
