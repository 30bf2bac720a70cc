#include "supervisor/rpc/http2_connection.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                    name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

std::string Http2Error(ssize_t code) {
  return absl::StrCat("HTTP/2 error: ",
                      nghttp2_strerror(static_cast<int>(code)));
}

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

// Queues up to kFlushChunk of the session's output; false on an error.
bool FillOut(Http2Connection& conn, std::string* reason) {
  while (conn.out.size() - conn.out_sent < kFlushChunk) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(conn.session, &data);
    if (n < 0) {
      *reason = Http2Error(n);
      return false;
    }
    if (n == 0) break;
    conn.out.append(reinterpret_cast<const char*>(data),
                    static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::vector<nghttp2_nv> NvList(const Headers& headers) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& [name, value] : headers) nva.push_back(Nv(name, value));
  return nva;
}

const std::string* FindHeader(const Headers& headers, absl::string_view name) {
  for (const auto& h : headers) {
    if (h.first == name) return &h.second;
  }
  return nullptr;
}

Http2Sessions::Http2Sessions(const Http2Callbacks& c,
                             const Http2Settings& settings)
    : settings_(settings) {
  nghttp2_session_callbacks_new(&callbacks_);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks_,
                                                          c.on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks_, c.on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks_,
                                                       c.on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      callbacks_, c.on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks_,
                                                         c.on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks_,
                                                       c.on_frame_send);
  nghttp2_option_new(&option_);
  nghttp2_option_set_no_auto_window_update(option_, 1);
}

Http2Sessions::~Http2Sessions() {
  nghttp2_option_del(option_);
  nghttp2_session_callbacks_del(callbacks_);
}

void Http2Sessions::Open(Http2Connection& conn, void* user_data) const {
  if (conn.peer == Peer::kClient) {
    nghttp2_session_server_new2(&conn.session, callbacks_, user_data, option_);
  } else {
    nghttp2_session_client_new2(&conn.session, callbacks_, user_data, option_);
  }
  if (conn.peer == Peer::kClient) {
    // nghttp2 refuses streams over the limit (REFUSED_STREAM) even before
    // the client acknowledged it.
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
         settings_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         settings_.max_header_list_size}};
    nghttp2_submit_settings(conn.session, NGHTTP2_FLAG_NONE, settings, 3);
  } else {
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 4096},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    nghttp2_submit_settings(conn.session, NGHTTP2_FLAG_NONE, settings, 3);
  }
  nghttp2_session_set_local_window_size(conn.session, NGHTTP2_FLAG_NONE, 0,
                                        kConnectionWindow);
}

ReceiveResult Receive(Http2Connection& conn, char* buffer, size_t size) {
  ReceiveResult result;
  for (int reads = 0; reads < 16; ++reads) {
    const ssize_t n = ::recv(conn.fd, buffer, size, 0);
    if (n > 0) {
      const ssize_t used = nghttp2_session_mem_recv(
          conn.session, reinterpret_cast<const uint8_t*>(buffer),
          static_cast<size_t>(n));
      result.received = true;
      if (used < 0) {
        result.broken = true;
        result.reason = Http2Error(used);
        return result;
      }
      if (static_cast<size_t>(n) < size) return result;
      continue;
    }
    if (n == 0) {
      result.broken = true;
      result.reason = "the peer closed the connection";
      return result;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      result.broken = true;
      result.reason = ErrnoText("recv");
    }
    return result;
  }
  return result;
}

FlushResult Flush(Http2Connection& conn, std::string* reason) {
  while (true) {
    if (!FillOut(conn, reason)) return FlushResult::kBroken;
    if (conn.out_sent == conn.out.size()) break;
    const ssize_t w = ::send(conn.fd, conn.out.data() + conn.out_sent,
                             conn.out.size() - conn.out_sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return FlushResult::kBlocked;
      *reason = ErrnoText("send");
      return FlushResult::kBroken;
    }
    conn.out_sent += static_cast<size_t>(w);
    if (conn.out_sent == conn.out.size()) {
      conn.out.clear();
      conn.out_sent = 0;
    } else if (conn.out_sent >= kFlushChunk) {
      // A connection that never drains whole keeps only what is unsent.
      conn.out.erase(0, conn.out_sent);
      conn.out_sent = 0;
    }
  }
  if (!nghttp2_session_want_read(conn.session) &&
      !nghttp2_session_want_write(conn.session)) {
    return FlushResult::kFinished;
  }
  return FlushResult::kDrained;
}

}  // namespace pitstop
