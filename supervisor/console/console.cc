#include "supervisor/console/console.h"

#include <arpa/inet.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/server_context.h>
#include <netinet/in.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "supervisor/console/console_assets.h"
#include "supervisor/rpc/admin_proto.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr int kMaxWaitSeconds = 25;
constexpr size_t kRecentEvents = 100;

HttpResponse Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  HttpResponse out;
  out.content_type = kJson;
  (void)google::protobuf::util::MessageToJsonString(message, &out.body,
                                                    options);
  return out;
}

// A JSON string literal of `text`.
std::string Quote(const std::string& text) {
  google::protobuf::Value v;
  v.set_string_value(text);
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(v, &out);
  return out;
}

HttpResponse Error(unsigned int code, const std::string& message) {
  HttpResponse out;
  out.code = code;
  out.content_type = kJson;
  out.body = absl::StrCat("{\"error\":", Quote(message), "}");
  return out;
}

// An admin call's answer: the message as JSON, or its error with the HTTP
// code that says the same.
HttpResponse Answer(const grpc::Status& status,
                    const google::protobuf::Message& message) {
  if (status.ok()) return Json(message);
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return Error(404, status.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Error(400, status.error_message());
    default:
      return Error(503, status.error_message());
  }
}

}  // namespace

std::string LocaleFromAcceptLanguage(const std::string& header) {
  std::string first = header.substr(0, header.find_first_of(",;"));
  first = std::string(absl::StripAsciiWhitespace(first));
  if (first.empty() || first.size() > 16) return "";
  for (char& c : first) {
    if (c == '-') c = '_';
    if (!absl::ascii_isalpha(c) && c != '_') return "";
  }
  return first;
}

bool ConsoleHostAllowed(const std::string& host,
                        const std::vector<std::string>& names) {
  std::string name = host;
  if (!name.empty() && name[0] == '[') {  // [v6]:port
    const size_t close = name.find(']');
    if (close == std::string::npos) return false;
    in6_addr v6;
    return ::inet_pton(AF_INET6, name.substr(1, close - 1).c_str(), &v6) == 1;
  }
  name = name.substr(
      0, name.rfind(':') == std::string::npos ? name.size() : name.rfind(':'));
  in_addr v4;
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) return true;
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "localhost") return true;
  for (const std::string& n : names) {
    if (absl::AsciiStrToLower(n) == lower) return true;
  }
  return false;
}

HttpResponse Console::Handle(const HttpRequest& request) const {
  if (!ConsoleHostAllowed(request.host, hosts_)) {
    return Error(
        421, absl::StrCat("this listener does not answer to the name '",
                          request.host.substr(0, 100),
                          "': open it by its IP address, or add the name to "
                          "console_hosts in pitstopd.yaml"));
  }
  if (absl::StartsWith(request.path, "/api/")) return Api(request);
  const ConsoleAsset* asset = FindConsoleAsset(request.path);
  if (asset == nullptr) {
    return Error(404, absl::StrCat("nothing at ", request.path.substr(0, 200),
                                   ": the console is at /, metrics at "
                                   "/metrics"));
  }
  HttpResponse out;
  out.content_type = std::string(asset->content_type);
  out.body = std::string(asset->body);
  return out;
}

HttpResponse Console::Api(const HttpRequest& request) const {
  grpc::ServerContext context;
  const std::string locale = LocaleFromAcceptLanguage(request.accept_language);
  absl::string_view path = request.path;
  if (path == "/api/v1/drivers") {
    sv1::ListDriversRequest r;
    r.set_locale(locale);
    sv1::ListDriversResponse out;
    return Answer(admin_.ListDrivers(&context, &r, &out), out);
  }
  if (path == "/api/v1/stats") {
    sv1::GetDriverStatsRequest r;
    sv1::GetDriverStatsResponse out;
    return Answer(admin_.GetDriverStats(&context, &r, &out), out);
  }
  if (path == "/api/v1/order") {
    sv1::GetStartOrderRequest r;
    sv1::GetStartOrderResponse out;
    return Answer(admin_.GetStartOrder(&context, &r, &out), out);
  }
  if (path == "/api/v1/updates") {
    sv1::ListUpdatesRequest r;
    sv1::ListUpdatesResponse out;
    const grpc::Status s = admin_.ListUpdates(&context, &r, &out);
    // No repositories configured: no updates, not an error.
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      return Json(out);
    }
    return Answer(s, out);
  }
  if (path == "/api/v1/events") return Events(request);
  if (absl::ConsumePrefix(&path, "/api/v1/drivers/")) {
    const size_t slash = path.find('/');
    return Driver(
        std::string(path.substr(0, slash)),
        slash == absl::string_view::npos ? "" : std::string(path.substr(slash)),
        request);
  }
  return Error(404, absl::StrCat("no API at ", request.path.substr(0, 200),
                                 " (docs/observability.md, \"Web console\")"));
}

HttpResponse Console::Driver(const std::string& name, const std::string& rest,
                             const HttpRequest& request) const {
  grpc::ServerContext context;
  if (rest.empty()) {
    sv1::GetDriverRequest r;
    r.set_name(name);
    r.set_locale(LocaleFromAcceptLanguage(request.accept_language));
    sv1::Driver out;
    return Answer(admin_.GetDriver(&context, &r, &out), out);
  }
  if (rest == "/stats") {
    sv1::GetDriverStatsRequest r;
    r.set_name(name);
    r.set_window_seconds(300);
    r.set_series(true);
    sv1::GetDriverStatsResponse out;
    return Answer(admin_.GetDriverStats(&context, &r, &out), out);
  }
  return Error(404, absl::StrCat("no API at ", request.path.substr(0, 200)));
}

HttpResponse Console::Events(const HttpRequest& request) const {
  uint64_t after = 0;
  const std::string after_text = request.Arg("after");
  if (!after_text.empty() && !absl::SimpleAtoi(after_text, &after)) {
    return Error(400, "after must be an event's sequence number");
  }
  int wait = 0;
  const std::string wait_text = request.Arg("wait");
  if (!wait_text.empty() && (!absl::SimpleAtoi(wait_text, &wait) || wait < 0 ||
                             wait > kMaxWaitSeconds)) {
    return Error(
        400, absl::StrCat("wait must be 0 to ", kMaxWaitSeconds, " seconds"));
  }
  const std::string driver = request.Arg("driver");
  if (!after_text.empty() && wait > 0) {
    // In slices, so that Shutdown ends the wait soon.
    const absl::Time deadline = absl::Now() + absl::Seconds(wait);
    while (
        !stopping_ && absl::Now() < deadline &&
        !events_.AwaitAfter(
            after, std::min(deadline, absl::Now() + absl::Milliseconds(250)))) {
    }
  }
  uint64_t seen = after;
  std::vector<DriverEvent> events = events_.Since(after, driver, &seen);
  if (after_text.empty() && events.size() > kRecentEvents) {
    events.erase(events.begin(), events.end() - kRecentEvents);
  }
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    std::string text;
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(ToProto(events[i]), &text,
                                                      options);
    absl::StrAppend(&body, i == 0 ? "" : ",", text);
  }
  absl::StrAppend(&body, "],\"last\":\"", seen, "\"}");
  HttpResponse out;
  out.content_type = kJson;
  out.body = std::move(body);
  return out;
}

}  // namespace pitstop
