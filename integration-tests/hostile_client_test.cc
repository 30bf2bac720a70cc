// Clients that try to make pitstopd spend without bound (docs/security.md,
// "Limits"): an HPACK bomb, more connections than descriptors, slow
// handshakes, requests that never finish arriving. Each test measures the
// daemon (resident memory, CPU time, log lines) and ends with a normal
// routed call that succeeds.

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"
#include "integration-tests/raw_h2_client.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace dv1 = pitstop::driver::v1;

constexpr char kCreateVolume[] =
    "/pitstop.driver.v1.StorageService/CreateVolume";

std::string SocketOf(const Daemon& d) { return d.address().substr(5); }

// A routed call through the fixture's own channel.
void RoutedCallSucceeds(Daemon& d, const std::string& id) {
  dv1::CreateVolumeRequest request;
  request.mutable_context()->mutable_resource()->set_type("volume");
  request.mutable_context()->mutable_resource()->set_id(id);
  request.mutable_context()->set_operation_id("op-" + id);
  dv1::CreateVolumeResponse response;
  auto ctx = d.Routed("recorder", absl::Seconds(20));
  ctx->set_wait_for_ready(true);
  const grpc::Status s =
      d.storage().CreateVolume(ctx.get(), request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
}

// The request frame of a CreateVolume call (uncompressed, a 5-byte prefix).
std::string GrpcMessage(const std::string& payload) {
  std::string out(5, '\0');
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[1] = static_cast<char>(n >> 24);
  out[2] = static_cast<char>(n >> 16);
  out[3] = static_cast<char>(n >> 8);
  out[4] = static_cast<char>(n);
  return out + payload;
}

// Lines of the daemon's log containing `text`.
size_t LogLines(Daemon& d, const std::string& text) {
  size_t n = 0;
  for (absl::string_view line : absl::StrSplit(d.Log(), '\n')) {
    if (absl::StrContains(line, text)) ++n;
  }
  return n;
}

// A raw Unix connection to `path`, or -1.
int Connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Waits until the daemon closed `fd` (reading what it sent); false after
// `timeout`.
bool AwaitClosedByPeer(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (::poll(&p, 1, std::max(ms, 1)) != 1) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

TEST_CASE(
    "an HPACK bomb costs pitstopd no more than its header limit: each "
    "stream is refused RESOURCE_EXHAUSTED, memory stays flat and a normal "
    "call succeeds after",
    "[integration][hostile]") {
  Daemon d(RecorderIn(""));
  RoutedCallSucceeds(d, "before");
  const size_t rss_before = ResidentBytes(d.pid());

  RawH2Client bomb(SocketOf(d));
  REQUIRE(bomb.ok());
  // One 2000-byte field, then 30 000 one-byte references to it in the
  // dynamic table: ~30 KB on the wire, 60 MB decoded, per stream.
  RawH2Client::Headers headers =
      RawH2Client::CallHeaders(kCreateVolume, "recorder");
  const std::string big(2000, 'b');
  for (int i = 0; i < 30000; ++i) headers.emplace_back("x-bomb", big);
  std::vector<int32_t> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(bomb.Submit(headers, GrpcMessage(""), true));
    REQUIRE(streams.back() > 0);
  }
  auto all_closed = [&] {
    for (int32_t id : streams) {
      if (!bomb.stream(id).closed) return false;
    }
    return true;
  };
  REQUIRE(bomb.PumpUntil(all_closed, absl::Seconds(30)));
  for (int32_t id : streams) {
    const auto& h = bomb.stream(id).headers;
    INFO("stream " << id << " error " << bomb.stream(id).error << " closed "
                   << bomb.connection_closed() << " goaway " << bomb.goaway());
    REQUIRE(h.count("grpc-status") == 1);
    CHECK(h.at("grpc-status") == "8");
    CHECK(absl::StrContains(h.at("grpc-message"), "headers exceed"));
  }
  const size_t rss_after = ResidentBytes(d.pid());
  std::cout << "HPACK bomb: pitstopd RSS " << (rss_before >> 20) << " -> "
            << (rss_after >> 20) << " MiB (4 streams of 60 MB decoded)\n";
  // Without the limit each stream held ~120 MB (the bytes and a copy).
  CHECK(rss_after < rss_before + (32 << 20));
  RoutedCallSucceeds(d, "after");
}

TEST_CASE(
    "slow clients are closed at the handshake timeout: silent, a partial "
    "preface, a preface without SETTINGS; a real client stays connected",
    "[integration][hostile]") {
  DaemonSpec spec = RecorderIn("");
  spec.config_yaml = "listener_handshake_timeout: 1s\n";
  Daemon d(spec);
  RoutedCallSucceeds(d, "before");
  const std::string magic = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const int silent = Connect(SocketOf(d));
  const int partial = Connect(SocketOf(d));
  const int preface_only = Connect(SocketOf(d));
  REQUIRE((silent >= 0 && partial >= 0 && preface_only >= 0));
  REQUIRE(::send(partial, magic.data(), 10, MSG_NOSIGNAL) == 10);
  REQUIRE(::send(preface_only, magic.data(), magic.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(magic.size()));
  for (int fd : {silent, partial, preface_only}) {
    CHECK(AwaitClosedByPeer(fd, absl::Seconds(15)));
    ::close(fd);
  }
  CHECK(d.AwaitLog("sent no HTTP/2 preface and SETTINGS within 1s",
                   absl::Seconds(5)));
  // The fixture's channel did its handshake long ago and still serves.
  RoutedCallSucceeds(d, "after");
}

TEST_CASE(
    "connections past the per-peer limit are closed at accept, and the "
    "daemon says so once a second at most",
    "[integration][hostile]") {
  DaemonSpec spec = RecorderIn("");
  spec.config_yaml = "listener_max_connections_per_peer: 8\n";
  Daemon d(spec);
  RoutedCallSucceeds(d, "before");
  std::vector<int> fds;
  for (int i = 0; i < 40; ++i) fds.push_back(Connect(SocketOf(d)));
  int closed = 0;
  for (int fd : fds) {
    REQUIRE(fd >= 0);
    // An admitted connection gets the server's SETTINGS and stays open.
    closed += AwaitClosedByPeer(fd, absl::Milliseconds(500)) ? 1 : 0;
  }
  for (int fd : fds) ::close(fd);
  INFO(d.Log());
  CHECK(closed >= 32);
  CHECK(closed < 40);
  CHECK(LogLines(d, "too many connections for this peer") <= 5);
  RoutedCallSucceeds(d, "after");
}

TEST_CASE(
    "1500 connections against nofile=1024 do not make the daemon spin or "
    "flood its log, a driver start meanwhile is not called tampered, and "
    "service is back once the clients go",
    "[integration][hostile]") {
  DaemonSpec spec = RecorderIn("");
  spec.config_yaml =
      "listener_max_connections: 5000\n"
      "listener_max_connections_per_peer: 5000\n";
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  REQUIRE(saved.rlim_max >= 4096);
  rlimit low = saved;
  low.rlim_cur = 1024;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  auto daemon = std::make_unique<Daemon>(spec);
  rlimit high = saved;
  high.rlim_cur = std::min<rlim_t>(saved.rlim_max, 8192);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &high) == 0);
  Daemon& d = *daemon;
  {
    std::ifstream limits("/proc/" + std::to_string(d.pid()) + "/limits");
    std::string text((std::istreambuf_iterator<char>(limits)), {});
    REQUIRE(absl::StrContains(text, "Max open files            1024"));
  }
  RoutedCallSucceeds(d, "before");

  const absl::Duration cpu_before = CpuTime(d.pid());
  const absl::Time t0 = absl::Now();
  std::vector<int> fds;
  for (int i = 0; i < 1500; ++i) {
    const int fd = Connect(SocketOf(d));
    if (fd >= 0) fds.push_back(fd);
  }
  // A driver start while the daemon has no descriptor to spare.
  {
    grpc::ClientContext ctx;
    pitstop::supervisor::v1::RestartDriverRequest req;
    req.set_name("recorder");
    req.set_force(true);
    pitstop::supervisor::v1::Driver out;
    (void)d.admin().RestartDriver(&ctx, req, &out);
  }
  absl::SleepFor(absl::Seconds(3) - (absl::Now() - t0));
  const absl::Duration cpu = CpuTime(d.pid()) - cpu_before;
  const absl::Duration wall = absl::Now() - t0;
  for (int fd : fds) ::close(fd);
  const std::string log = d.Log();
  INFO(log.substr(log.size() > 20000 ? log.size() - 20000 : 0));
  std::cout << "1500 connections, nofile 1024: " << fds.size()
            << " connected; daemon CPU " << absl::FormatDuration(cpu) << " in "
            << absl::FormatDuration(wall) << "; "
            << LogLines(d, "out of file descriptors") << " log lines\n";
  // A busy loop would take a whole core for the whole time.
  CHECK(cpu < wall / 2);
  // One line a second at most (and one about the driver's start).
  CHECK(LogLines(d, "out of file descriptors: connections refused") <=
        static_cast<size_t>(absl::ToInt64Seconds(wall)) + 2);
  CHECK(!absl::StrContains(log, "changed on disk"));
  CHECK(!absl::StrContains(log, "cannot be applied on this host"));
  const pitstop::supervisor::v1::Driver back = d.AwaitReady("recorder");
  CHECK(back.state() == pitstop::supervisor::v1::DRIVER_STATE_READY);
  RoutedCallSucceeds(d, "after");
  daemon.reset();
}

TEST_CASE(
    "routed requests that never finish arriving are held to the global "
    "buffer cap and let go at the request timeout",
    "[integration][hostile]") {
  DaemonSpec spec = RecorderIn("");
  spec.config_yaml =
      "listener_max_buffered_mb: 40\n"
      "listener_request_timeout: 3s\n";
  Daemon d(spec);
  RoutedCallSucceeds(d, "before");
  const size_t rss_before = ResidentBytes(d.pid());
  // Four connections, each a request that claims 60 MiB and sends 16 MiB.
  std::vector<std::unique_ptr<RawH2Client>> clients;
  std::vector<int32_t> streams;
  std::string part(16 << 20, 'x');
  std::string prefix(5, '\0');
  prefix[1] = 0x03;  // 0x03C00000 = 60 MiB
  prefix[2] = static_cast<char>(0xC0);
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<RawH2Client>(SocketOf(d)));
    REQUIRE(clients.back()->ok());
    streams.push_back(clients.back()->Submit(
        RawH2Client::CallHeaders(kCreateVolume, "recorder"), prefix + part,
        false));
  }
  // Each client in turn sends all it has (the daemon holds what fits);
  // then every stream is answered: over the cap at once, the rest at the
  // request timeout.
  for (size_t i = 0; i < clients.size(); ++i) {
    RawH2Client& c = *clients[i];
    const int32_t id = streams[i];
    REQUIRE(c.PumpUntil(
        [&] {
          return c.stream(id).closed ||
                 c.stream(id).body_sent == prefix.size() + part.size();
        },
        absl::Seconds(10)));
  }
  int exhausted = 0, late = 0;
  for (size_t i = 0; i < clients.size(); ++i) {
    RawH2Client& c = *clients[i];
    const int32_t id = streams[i];
    REQUIRE(
        c.PumpUntil([&] { return c.stream(id).closed; }, absl::Seconds(30)));
    const auto& h = c.stream(id).headers;
    INFO("stream " << id << " error " << c.stream(id).error << " closed "
                   << c.connection_closed() << " sent "
                   << c.stream(id).body_sent);
    REQUIRE(h.count("grpc-status") == 1);
    exhausted += h.at("grpc-status") == "8" ? 1 : 0;
    late += h.at("grpc-status") == "4" ? 1 : 0;
  }
  const size_t rss_peak = ResidentBytes(d.pid());
  std::cout << "4 x 16 MiB held requests, cap 40 MiB: RSS "
            << (rss_before >> 20) << " -> " << (rss_peak >> 20) << " MiB; "
            << exhausted << " refused over the cap, " << late << " timed out\n";
  CHECK(exhausted >= 2);
  CHECK(late >= 1);
  CHECK(exhausted + late == 4);
  clients.clear();
  RoutedCallSucceeds(d, "after");
}

TEST_CASE(
    "a 100 KB value in a property is refused INVALID_ARGUMENT with a short "
    "message that always arrives",
    "[integration][hostile]") {
  Daemon d(RecorderIn(""));
  dv1::CreateVolumeRequest request;
  request.mutable_context()->mutable_resource()->set_type("volume");
  request.mutable_context()->mutable_resource()->set_id("big");
  (*request.mutable_context()->mutable_properties())["work_ms"]
      .set_string_value(std::string(100 << 10, '7'));
  dv1::CreateVolumeResponse response;
  auto ctx = d.Routed("recorder", absl::Seconds(20));
  const grpc::Status s =
      d.storage().CreateVolume(ctx.get(), request, &response);
  INFO(s.error_message().substr(0, 300));
  REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StrContains(s.error_message(), "work_ms"));
  CHECK(s.error_message().size() <= 4096);
  RoutedCallSucceeds(d, "after");
}

}  // namespace
}  // namespace pitstop
