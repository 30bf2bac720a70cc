#include "supervisor/rpc/http2_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "supervisor/rpc/tls_server.h"

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

enum class Io { kOk, kWouldBlock, kClosed, kError };

// What an OpenSSL call that returned `rc` <= 0 means.
Io TlsResult(Http2Connection& conn, int rc, absl::string_view what,
             std::string* reason) {
  switch (SSL_get_error(conn.tls, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Io::kWouldBlock;
    case SSL_ERROR_ZERO_RETURN:
      return Io::kClosed;
    case SSL_ERROR_SYSCALL:
      if (errno == EINTR || errno == EAGAIN) return Io::kWouldBlock;
      if (errno == 0) return Io::kClosed;
      *reason = ErrnoText(what);
      return Io::kError;
    default:
      *reason = absl::StrCat(what, ": ", TlsFailure(conn.tls));
      return Io::kError;
  }
}

// One read of what the socket has, through TLS when the connection has it.
Io ReadSome(Http2Connection& conn, char* buffer, size_t size, size_t* n,
            std::string* reason) {
  if (conn.tls != nullptr) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_read(conn.tls, buffer, static_cast<int>(size));
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return Io::kOk;
    }
    return TlsResult(conn, r, "TLS read", reason);
  }
  while (true) {
    const ssize_t r = ::recv(conn.fd, buffer, size, 0);
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return Io::kOk;
    }
    if (r == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kWouldBlock;
    *reason = ErrnoText("recv");
    return Io::kError;
  }
}

Io WriteSome(Http2Connection& conn, const char* data, size_t size, size_t* n,
             std::string* reason) {
  if (conn.tls != nullptr) {
    ERR_clear_error();
    errno = 0;
    const int w = SSL_write(conn.tls, data, static_cast<int>(size));
    if (w > 0) {
      *n = static_cast<size_t>(w);
      return Io::kOk;
    }
    // Renegotiation is off: after the handshake a write never waits for
    // the peer to send, so only a full socket blocks it (EPOLLOUT).
    if (SSL_get_error(conn.tls, w) == SSL_ERROR_WANT_READ) {
      *reason = "TLS write waits for a read (renegotiation is refused)";
      return Io::kError;
    }
    return TlsResult(conn, w, "TLS write", reason);
  }
  while (true) {
    const ssize_t w = ::send(conn.fd, data, size, MSG_NOSIGNAL);
    if (w >= 0) {
      *n = static_cast<size_t>(w);
      return Io::kOk;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kWouldBlock;
    *reason = ErrnoText("send");
    return Io::kError;
  }
}

enum class Handshake { kDone, kWantRead, kWantWrite, kFailed };

// Goes on with a TLS connection's handshake.
Handshake Shake(Http2Connection& conn, std::string* reason) {
  ERR_clear_error();
  errno = 0;  // SSL_ERROR_SYSCALL's errno is the call's, or 0 at EOF
  const int rc = SSL_do_handshake(conn.tls);
  if (rc == 1) {
    conn.tls_established = true;
    return Handshake::kDone;
  }
  switch (SSL_get_error(conn.tls, rc)) {
    case SSL_ERROR_WANT_READ:
      return Handshake::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Handshake::kWantWrite;
    case SSL_ERROR_SYSCALL:
      if (errno == EINTR || errno == EAGAIN) return Handshake::kWantRead;
      if (errno == 0) {
        // Closed before a word of TLS (a port check, a client giving up):
        // not a failure worth a log line.
        *reason = "the peer closed the connection during the TLS handshake";
        return Handshake::kFailed;
      }
      break;
    case SSL_ERROR_ZERO_RETURN:
      *reason = "the peer closed the connection during the TLS handshake";
      return Handshake::kFailed;
    default:
      break;
  }
  conn.tls_failed = true;
  *reason = absl::StrCat("TLS handshake failed: ", TlsFailure(conn.tls));
  return Handshake::kFailed;
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
  if (conn.tls != nullptr && !conn.tls_established) {
    switch (Shake(conn, &result.reason)) {
      case Handshake::kFailed:
        result.broken = true;
        return result;
      case Handshake::kWantRead:
        return result;
      case Handshake::kWantWrite:
      case Handshake::kDone:
        result.received = true;  // Flush goes on (when writable)
        if (!conn.tls_established) return result;
        break;
    }
  }
  for (int reads = 0; reads < 16; ++reads) {
    size_t n = 0;
    switch (ReadSome(conn, buffer, size, &n, &result.reason)) {
      case Io::kOk:
        break;
      case Io::kWouldBlock:
        return result;
      case Io::kClosed:
        result.broken = true;
        result.reason = "the peer closed the connection";
        return result;
      case Io::kError:
        result.broken = true;
        return result;
    }
    const ssize_t used = nghttp2_session_mem_recv(
        conn.session, reinterpret_cast<const uint8_t*>(buffer), n);
    result.received = true;
    if (used < 0) {
      result.broken = true;
      result.reason = Http2Error(used);
      return result;
    }
    // A socket that gave less than asked is empty; TLS gives a record at a
    // time, so it reads on until OpenSSL wants more.
    if (conn.tls == nullptr && n < size) return result;
  }
  return result;
}

FlushResult Flush(Http2Connection& conn, std::string* reason) {
  if (conn.tls != nullptr && !conn.tls_established) {
    switch (Shake(conn, reason)) {
      case Handshake::kFailed:
        return FlushResult::kBroken;
      case Handshake::kWantWrite:
        return FlushResult::kBlocked;
      case Handshake::kWantRead:
        return FlushResult::kDrained;  // the session's output waits
      case Handshake::kDone:
        break;
    }
  }
  while (true) {
    if (!FillOut(conn, reason)) return FlushResult::kBroken;
    if (conn.out_sent == conn.out.size()) break;
    size_t w = 0;
    switch (WriteSome(conn, conn.out.data() + conn.out_sent,
                      conn.out.size() - conn.out_sent, &w, reason)) {
      case Io::kOk:
        break;
      case Io::kWouldBlock:
        return FlushResult::kBlocked;
      case Io::kClosed:
      case Io::kError:
        if (reason->empty()) *reason = "the peer closed the connection";
        return FlushResult::kBroken;
    }
    conn.out_sent += w;
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

void Close(Http2Connection& conn) {
  nghttp2_session_del(conn.session);
  conn.session = nullptr;
  if (conn.tls != nullptr) {
    if (conn.tls_established) {
      ERR_clear_error();
      SSL_shutdown(conn.tls);  // a close_notify, if the socket takes it
    }
    SSL_free(conn.tls);
    conn.tls = nullptr;
  }
  ::close(conn.fd);
  conn.fd = -1;
}

}  // namespace pitstop
