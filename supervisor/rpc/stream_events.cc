#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "supervisor/rpc/router_loop.h"

// The router's nghttp2 callbacks: they only record what arrived on a stream
// and schedule its call; RouterLoop::Advance acts. They run inside
// nghttp2_session_mem_recv/mem_send, on the loop's thread, once per frame or
// chunk: no allocation beyond the bytes kept, no lock, no virtual call.

namespace pitstop {

struct RouterLoop::StreamEvents {
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
    return call->attempt.up == conn && call->attempt.up_stream == stream_id
               ? call
               : nullptr;
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
    Connection* conn = Conn(user_data);
    Call* call = StreamCall(conn, frame->hd.stream_id);
    if (call == nullptr || frame->hd.type != NGHTTP2_HEADERS) return 0;
    // Bounded after HPACK decoding: a few bytes on the wire can name a
    // large field of the dynamic table again and again.
    const size_t limit = conn->loop->options_.limits.max_header_list_bytes;
    size_t& counted = conn->peer == Peer::kClient ? call->header_bytes
                                                  : call->attempt.header_bytes;
    counted += name_length + value_length + 32;
    if (counted > limit) {
      if (conn->peer == Peer::kClient) {
        call->headers_too_large = true;
      } else {
        call->attempt.response_too_large = true;
      }
      return 0;
    }
    std::pair<std::string, std::string> header(
        std::string(reinterpret_cast<const char*>(name), name_length),
        std::string(reinterpret_cast<const char*>(value), value_length));
    if (Conn(user_data)->peer == Peer::kClient) {
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        call->request_headers.push_back(std::move(header));
      }
    } else if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      call->attempt.response_headers.push_back(std::move(header));
    } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
      call->attempt.trailers.push_back(std::move(header));
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
    if (frame->hd.type == NGHTTP2_SETTINGS) {
      conn->handshake_done = true;
      return 0;
    }
    if (frame->hd.type == NGHTTP2_PING &&
        (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
      if (conn->peer == Peer::kClient) conn->loop->FinishGoAway(conn);
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
        if (const std::string* path =
                FindHeader(call->request_headers, ":path")) {
          call->method = *path;
        }
        const auto& methods = conn->loop->methods_;
        auto it = methods.find(call->method);
        call->routed = it != methods.end();
        if (call->routed) {
          call->category = it->second.category;
          call->method_index = it->second.index;
        }
      }
      if (end) call->request_complete = true;
    } else if (frame->hd.type == NGHTTP2_HEADERS) {
      if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
        call->attempt.response_headers_done = true;
        call->attempt.trailers_only = end;
      } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
        call->attempt.trailers_done = true;
      }
    }
    conn->loop->Schedule(call);
    return 0;
  }

  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                         void* user_data) {
    Connection* conn = Conn(user_data);
    if (conn->peer == Peer::kClient) {
      // An answer given before the request finished arriving: the rest of
      // the request is refused once the answer is out (RFC 9113, 8.1),
      // never before, or the client would not see it.
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
      Call* call = StreamCall(conn, frame->hd.stream_id);
      if (call != nullptr && call->reset_after_response &&
          !call->request_complete) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE,
                                  frame->hd.stream_id, NGHTTP2_NO_ERROR);
      }
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    if (Call* call = StreamCall(conn, frame->hd.stream_id)) {
      call->attempt.up_headers_sent = true;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t flags,
                         int32_t stream_id, const uint8_t* data, size_t length,
                         void* user_data) {
    Connection* conn = Conn(user_data);
    Call* call = StreamCall(conn, stream_id);
    const size_t max = conn->loop->options_.max_message_bytes + 5;
    const ListenerLimits& limits = conn->loop->options_.limits;
    // Bytes are handed back to the sender's windows at once, but for a
    // passed-through stream's own window: that opens again as the other
    // side takes the bytes, so a slow reader holds back only its stream.
    bool consume_now = true;
    if (call != nullptr) {
      std::string& body = conn->peer == Peer::kClient
                              ? call->request_body
                              : call->attempt.response_body;
      const bool routed_request = call->routed && conn->peer == Peer::kClient;
      if (call->routed && body.size() + length > max) {
        (routed_request ? call->too_large : call->attempt.response_too_large) =
            true;
      } else if (routed_request &&
                 conn->buffered + length > limits.max_buffered_per_connection) {
        call->over_connection_budget = true;
      } else if (routed_request && conn->loop->buffered_total_ + length >
                                       limits.max_buffered_bytes) {
        call->over_global_budget = true;
      } else if (!call->over_connection_budget && !call->over_global_budget &&
                 !call->timed_out_arriving) {
        body.append(reinterpret_cast<const char*>(data), length);
        if (routed_request) {
          conn->buffered += length;
          call->buffered += length;
          conn->loop->buffered_total_ += length;
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
      call->attempt.up_closed = true;
      call->attempt.up_error = error_code;
      // Streams past a GOAWAY's last stream id close as REFUSED_STREAM.
      call->attempt.up_goaway =
          error_code == NGHTTP2_REFUSED_STREAM && conn->going_away;
      conn->calls.erase(call->id);
      call->attempt.up = nullptr;
    }
    conn->loop->Schedule(call);
    return 0;
  }

  // The request body, to the forwarded stream.
  static ssize_t ReadRequestBody(nghttp2_session* session, int32_t stream_id,
                                 uint8_t* buf, size_t length,
                                 uint32_t* data_flags,
                                 nghttp2_data_source* source, void* user_data) {
    RouterLoop* loop = Conn(user_data)->loop;
    Call* call = loop->FindCall(reinterpret_cast<uintptr_t>(source->ptr));
    if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = loop->CopyOut(!call->routed, call->request_body,
                                   call->attempt.request_sent, buf, length,
                                   call->client, call->client_stream);
    if (call->attempt.request_sent == call->request_body.size()) {
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
    RouterLoop* loop = Conn(user_data)->loop;
    Call* call = loop->FindCall(reinterpret_cast<uintptr_t>(source->ptr));
    if (call == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = loop->CopyOut(!call->routed, call->attempt.response_body,
                                   call->attempt.response_sent, buf, length,
                                   call->attempt.up, call->attempt.up_stream);
    if (call->attempt.response_sent == call->attempt.response_body.size()) {
      if (call->attempt.trailers_done || call->attempt.up_closed) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (!call->attempt.trailers_done) {
          // The backend's stream ended without trailers: it broke.
          call->attempt.trailers = {
              {"grpc-status", std::to_string(kUnavailable)},
              {"grpc-message",
               "pitstopd lost the stream to its admin "
               "service; retry the call"}};
        }
        std::vector<nghttp2_nv> nva = NvList(call->attempt.trailers);
        nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
      } else if (n == 0) {
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

// Copies what fits of body[sent..] into `buf`. A passed-through stream's
// bytes go back to the window of the stream they came on (`from`, when it
// is still open), and only what is not passed on yet is kept.
size_t RouterLoop::CopyOut(bool passed_through, std::string& body, size_t& sent,
                           uint8_t* buf, size_t length, Connection* from,
                           int32_t from_stream) {
  const size_t n = std::min(length, body.size() - sent);
  std::memcpy(buf, body.data() + sent, n);
  sent += n;
  if (!passed_through) return n;
  if (n > 0 && from != nullptr) {
    nghttp2_session_consume_stream(from->session, from_stream, n);
    connections_.MarkDirty(from);
  }
  if (sent == body.size() || sent >= kReadChunk) {
    body.erase(0, sent);
    sent = 0;
  }
  return n;
}

void* RouterLoop::UserData(const Call* call) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(call->id));
}

nghttp2_data_provider RouterLoop::RequestBody(const Call* call) {
  nghttp2_data_provider provider{};
  provider.source.ptr = UserData(call);
  provider.read_callback = &StreamEvents::ReadRequestBody;
  return provider;
}

nghttp2_data_provider RouterLoop::ResponseBody(const Call* call) {
  nghttp2_data_provider provider{};
  provider.source.ptr = UserData(call);
  provider.read_callback = &StreamEvents::ReadResponseBody;
  return provider;
}

Http2Callbacks RouterLoop::StreamCallbacks() {
  Http2Callbacks c;
  c.on_begin_headers = &StreamEvents::OnBeginHeaders;
  c.on_header = &StreamEvents::OnHeader;
  c.on_frame_recv = &StreamEvents::OnFrameRecv;
  c.on_data_chunk_recv = &StreamEvents::OnDataChunk;
  c.on_stream_close = &StreamEvents::OnStreamClose;
  c.on_frame_send = &StreamEvents::OnFrameSend;
  return c;
}

}  // namespace pitstop
