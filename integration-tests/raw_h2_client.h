#ifndef PITSTOP_INTEGRATION_TESTS_RAW_H2_CLIENT_H_
#define PITSTOP_INTEGRATION_TESTS_RAW_H2_CLIENT_H_

// An HTTP/2 client over nghttp2 that does what a gRPC library never would,
// for the hostile-client tests: header lists of any size (HPACK references
// to one large field), requests whose body never ends, many streams at once.
// Blocking, one thread.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace pitstop {

class RawH2Client {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // Connects to the Unix socket at `path` and queues the preface and
  // SETTINGS. `ok()` is false when the connection failed.
  explicit RawH2Client(const std::string& path);
  ~RawH2Client();
  RawH2Client(const RawH2Client&) = delete;
  RawH2Client& operator=(const RawH2Client&) = delete;

  bool ok() const { return fd_ >= 0 && session_ != nullptr; }

  // The request headers of a unary call of `method` to `driver`.
  static Headers CallHeaders(const std::string& method,
                             const std::string& driver);

  // Submits a request; `body` is sent (flow control permitting) and the
  // stream ends after it only when `finish`. Returns the stream id (<0 on
  // error).
  int32_t Submit(const Headers& headers, std::string body, bool finish);

  struct Stream {
    std::map<std::string, std::string> headers;  // response and trailers
    bool closed = false;
    uint32_t error = 0;  // RST_STREAM code
    size_t body_sent = 0;
  };
  const Stream& stream(int32_t id) { return streams_[id]; }
  // The connection ended (the server closed it, or sent GOAWAY).
  bool connection_closed() const { return closed_; }
  bool goaway() const { return goaway_; }

  // Moves bytes both ways until `done()` or the connection closes or
  // `timeout` passes; returns done().
  bool PumpUntil(const std::function<bool()>& done, absl::Duration timeout);

 private:
  static ssize_t Send(nghttp2_session*, const uint8_t* data, size_t length,
                      int flags, void* user_data);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                      const uint8_t* name, size_t namelen, const uint8_t* value,
                      size_t valuelen, uint8_t flags, void* user_data);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id,
                           uint32_t error_code, void* user_data);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                         void* user_data);
  static ssize_t ReadBody(nghttp2_session*, int32_t stream_id, uint8_t* buf,
                          size_t length, uint32_t* data_flags,
                          nghttp2_data_source* source, void* user_data);

  struct Body {
    std::string bytes;
    size_t sent = 0;
    bool finish = true;
  };

  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  std::map<int32_t, Body> bodies_;
  bool closed_ = false;
  bool goaway_ = false;
};

// The daemon's resident memory (VmRSS) in bytes, and its CPU time (user +
// system) so far.
size_t ResidentBytes(int pid);
absl::Duration CpuTime(int pid);

}  // namespace pitstop

#endif  // PITSTOP_INTEGRATION_TESTS_RAW_H2_CLIENT_H_
