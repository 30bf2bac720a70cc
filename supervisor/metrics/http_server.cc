#include "supervisor/metrics/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

MHD_Result Reply(MHD_Connection* connection, const HttpResponse& r) {
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r.content_type.c_str());
  // The console runs only its own scripts, never inside another site's
  // frame, and nothing is sniffed into another type.
  MHD_add_response_header(response, "Content-Security-Policy",
                          "default-src 'self'; frame-ancestors 'none'");
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  if (r.code == MHD_HTTP_METHOD_NOT_ALLOWED) {
    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  }
  const MHD_Result result = MHD_queue_response(connection, r.code, response);
  MHD_destroy_response(response);
  return result;
}

MHD_Result AddArgument(void* cls, MHD_ValueKind, const char* key,
                       const char* value) {
  auto* request = static_cast<HttpRequest*>(cls);
  if (request->query.size() < 32) {  // a client's list, bounded
    request->query.emplace_back(key, value != nullptr ? value : "");
  }
  return MHD_YES;
}

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url,
                  const char* method, const char*, const char*,
                  size_t* upload_size, void** state) {
  static int seen;
  const bool first = *state == nullptr;
  *state = &seen;
  // A method other than GET and HEAD is refused at once, its body unread
  // (libmicrohttpd then closes the connection). Nothing here acts.
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    HttpResponse refused;
    refused.code = MHD_HTTP_METHOD_NOT_ALLOWED;
    refused.body =
        "only GET and HEAD are served here: /metrics and the read-only "
        "console\n";
    return first ? Reply(connection, refused) : MHD_YES;
  }
  // GET: answered once the request has arrived (the second call); a body
  // sent with it is dropped.
  if (first) return MHD_YES;
  if (*upload_size != 0) {
    *upload_size = 0;
    return MHD_YES;
  }
  HttpRequest request;
  request.path = url;
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &AddArgument,
                            &request);
  if (const char* host = MHD_lookup_connection_value(
          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)) {
    request.host = host;
  }
  if (const char* lang = MHD_lookup_connection_value(
          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE)) {
    request.accept_language = lang;
  }
  const auto* self = static_cast<const HttpServer*>(cls);
  return Reply(connection, self->Handle(request));
}

}  // namespace

std::string HttpRequest::Arg(const std::string& key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const std::string& address, Handler handler) {
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  uint32_t port = 0;
  if (colon == std::string::npos ||
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) !=
          1 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics_listen '", address,
        "' is not IPV4:PORT (e.g. 127.0.0.1:9464; port 0 picks one)"));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(handler)));
  server->daemon_ = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
          MHD_USE_POLL,
      0, nullptr, nullptr, &Answer, server.get(), MHD_OPTION_SOCK_ADDR, &addr,
      MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(64 << 10),
      MHD_OPTION_THREAD_STACK_SIZE, static_cast<size_t>(256 << 10),
      MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "metrics_listen ", address,
        ": cannot listen there (in use, or not this host's address)"));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->address_ = absl::StrCat(address.substr(0, colon), ":",
                                  info != nullptr ? info->port : port);
  return server;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace pitstop
