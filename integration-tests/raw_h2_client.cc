#include "integration-tests/raw_h2_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace pitstop {

RawH2Client::RawH2Client(const std::string& path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd_ < 0 ||
      ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return;
  }
  nghttp2_session_callbacks* cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_send_callback(cb, Send);
  nghttp2_session_callbacks_set_on_header_callback(cb, OnHeader);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, OnFrameRecv);
  nghttp2_option* option;
  nghttp2_option_new(&option);
  // nghttp2 refuses to send a header block it estimates (uncompressed) over
  // 64 KB; the point here is one that compresses to a few bytes a field.
  nghttp2_option_set_max_send_header_block_length(option, size_t{1} << 30);
  nghttp2_session_client_new2(&session_, cb, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
}

RawH2Client::~RawH2Client() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  if (fd_ >= 0) ::close(fd_);
}

RawH2Client::Headers RawH2Client::CallHeaders(const std::string& method,
                                              const std::string& driver) {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":path", method},
          {":authority", "pitstopd"},
          {"content-type", "application/grpc"},
          {"te", "trailers"},
          {"pitstop-driver", driver}};
}

int32_t RawH2Client::Submit(const Headers& headers, std::string body,
                            bool finish) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                   name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  nghttp2_data_provider provider{};
  provider.read_callback = ReadBody;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(),
                                            nva.size(), &provider, nullptr);
  if (id > 0) {
    bodies_[id] = Body{std::move(body), 0, finish};
    streams_[id];
  }
  return id;
}

bool RawH2Client::PumpUntil(const std::function<bool()>& done,
                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buf[64 << 10];
  while (!done()) {
    if (closed_ || !ok()) return done();
    if (nghttp2_session_send(session_) != 0) closed_ = true;
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return done();
    pollfd p{fd_, POLLIN, 0};
    if (nghttp2_session_want_write(session_)) p.events |= POLLOUT;
    if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 50))) < 0) {
      continue;
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        closed_ = true;
      } else if (n > 0 && nghttp2_session_mem_recv(
                              session_, reinterpret_cast<uint8_t*>(buf),
                              static_cast<size_t>(n)) < 0) {
        closed_ = true;
      }
    }
    // A deferred body may go on now that the window opened.
    for (auto& [id, body] : bodies_) {
      if (body.sent < body.bytes.size())
        nghttp2_session_resume_data(session_, id);
    }
  }
  return true;
}

ssize_t RawH2Client::Send(nghttp2_session*, const uint8_t* data, size_t length,
                          int, void* user_data) {
  auto* self = static_cast<RawH2Client*>(user_data);
  const ssize_t n =
      ::send(self->fd_, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    return errno == EAGAIN ? NGHTTP2_ERR_WOULDBLOCK
                           : NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return n;
}

int RawH2Client::OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                          const uint8_t* name, size_t namelen,
                          const uint8_t* value, size_t valuelen, uint8_t,
                          void* user_data) {
  auto* self = static_cast<RawH2Client*>(user_data);
  self->streams_[frame->hd.stream_id]
      .headers[std::string(reinterpret_cast<const char*>(name), namelen)] =
      std::string(reinterpret_cast<const char*>(value), valuelen);
  return 0;
}

int RawH2Client::OnStreamClose(nghttp2_session*, int32_t stream_id,
                               uint32_t error_code, void* user_data) {
  auto* self = static_cast<RawH2Client*>(user_data);
  Stream& s = self->streams_[stream_id];
  s.closed = true;
  s.error = error_code;
  return 0;
}

int RawH2Client::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                             void* user_data) {
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    static_cast<RawH2Client*>(user_data)->goaway_ = true;
  }
  return 0;
}

ssize_t RawH2Client::ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf,
                              size_t length, uint32_t* data_flags,
                              nghttp2_data_source*, void* user_data) {
  auto* self = static_cast<RawH2Client*>(user_data);
  Body& body = self->bodies_[stream_id];
  const size_t n = std::min(length, body.bytes.size() - body.sent);
  std::memcpy(buf, body.bytes.data() + body.sent, n);
  body.sent += n;
  self->streams_[stream_id].body_sent = body.sent;
  if (body.sent == body.bytes.size()) {
    if (body.finish) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

size_t ResidentBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      size_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

absl::Duration CpuTime(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return absl::ZeroDuration();
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  // Fields 14 and 15 of stat(5) (utime, stime) are 11 and 12 after ")".
  int64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(static_cast<double>(utime + stime) /
                       static_cast<double>(::sysconf(_SC_CLK_TCK)));
}

}  // namespace pitstop
