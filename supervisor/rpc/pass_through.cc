#include <nghttp2/nghttp2.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "supervisor/rpc/router_loop.h"

// A stream for the in-process server (the admin service, health, server
// reflection), passed on frame by frame over its client's passage, with
// flow control end to end: bytes go back to the sender's window as the
// other side takes them (RouterLoop::CopyOut).

namespace pitstop {
namespace {

constexpr char kReflectionV1[] =
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
constexpr char kReflectionV1Alpha[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

}  // namespace

// A passed-through call has one attempt, for its whole life.
void RouterLoop::AdvancePassThrough(Call* call) {
  Attempt& a = call->attempt;
  if (!a.up_started) {
    a.up_started = true;
    Connection* backend = backends_.For(call->client);
    if (backend == nullptr) {
      Respond(call, kUnavailable,
              "pitstopd cannot reach its own admin service; see its log");
      return;
    }
    // Who is calling, as the kernel said: the admin service trusts this
    // header, so one a client sent is dropped.
    Headers headers;
    headers.reserve(call->request_headers.size() + 1);
    for (auto& h : call->request_headers) {
      if (h.first == kPeerMetadataKey) continue;
      // Server reflection v1 is v1alpha renamed (the same messages, field
      // for field); the in-process server's reflection (gRPC 1.51) serves
      // only v1alpha, so a v1 client is answered by it.
      if (h.first == ":path" && h.second == kReflectionV1) {
        h.second = kReflectionV1Alpha;
      }
      headers.push_back(std::move(h));
    }
    headers.emplace_back(kPeerMetadataKey, PeerHeader(call->client->identity));
    call->request_headers = std::move(headers);
    std::vector<nghttp2_nv> nva = NvList(call->request_headers);
    nghttp2_data_provider body = RequestBody(call);
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
    a.up = backend;
    a.up_stream = stream;
    backend->calls.insert(call->id);
  }
  if (a.up != nullptr) {
    nghttp2_session_resume_data(a.up->session, a.up_stream);
    connections_.MarkDirty(a.up);
  }
  if (!call->response_submitted) {
    if (a.response_headers_done) {
      SubmitResponse(call);
    } else if (a.up_closed) {
      Respond(call, kUnavailable,
              a.up_lost ? absl::StrCat("pitstopd lost its admin service's "
                                       "stream: ",
                                       a.up_lost_reason)
                        : absl::StrCat("pitstopd's admin service reset the "
                                       "stream (HTTP/2 error ",
                                       a.up_error, ")"));
    }
    return;
  }
  nghttp2_session_resume_data(call->client->session, call->client_stream);
  connections_.MarkDirty(call->client);
}

}  // namespace pitstop
