#include "supervisor/rpc/error_details.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace pitstop {
namespace {

google::rpc::Status Decode(const std::string& value) {
  std::string bytes;
  REQUIRE(absl::Base64Unescape(value, &bytes));
  google::rpc::Status status;
  REQUIRE(status.ParseFromString(bytes));
  return status;
}

TEST_CASE("status details carry the code, a reason and the bag's problems",
          "[rpc]") {
  ErrorDetails d;
  d.reason = "INVALID_PROPERTIES";
  d.driver = "flashpool";
  d.field_violations = {{"context.properties.vip", "is required"}};
  const std::string value = StatusDetailsValue(3, "bad bag", d);
  CHECK(value.find('=') == std::string::npos);  // unpadded, as gRPC writes
  const google::rpc::Status s = Decode(value);
  CHECK(s.code() == 3);
  CHECK(s.message() == "bad bag");
  REQUIRE(s.details_size() == 2);
  google::rpc::ErrorInfo info;
  REQUIRE(s.details(0).UnpackTo(&info));
  CHECK(info.reason() == "INVALID_PROPERTIES");
  CHECK(info.domain() == "pitstop.dev");
  CHECK(info.metadata().at("driver") == "flashpool");
  google::rpc::BadRequest bad;
  REQUIRE(s.details(1).UnpackTo(&bad));
  REQUIRE(bad.field_violations_size() == 1);
  CHECK(bad.field_violations(0).field() == "context.properties.vip");
}

TEST_CASE("a reason defaults to the code's name", "[rpc]") {
  google::rpc::ErrorInfo info;
  REQUIRE(Decode(StatusDetailsValue(14, "x", {})).details(0).UnpackTo(&info));
  CHECK(info.reason() == "UNAVAILABLE");
}

TEST_CASE("status details stay small whatever the client sent", "[rpc]") {
  ErrorDetails d;
  for (int i = 0; i < 20; ++i) {
    d.field_violations.emplace_back(
        "context.properties." + std::string(5000, 'k'), std::string(5000, 'd'));
  }
  const std::string value = StatusDetailsValue(3, std::string(4096, 'm'), d);
  CHECK(value.size() < 2800);  // 2 KiB before base64
  const google::rpc::Status s = Decode(value);
  CHECK(s.message().size() == 512);
  google::rpc::BadRequest bad;
  REQUIRE(s.details(1).UnpackTo(&bad));
  CHECK(bad.field_violations_size() > 0);
  CHECK(bad.field_violations(0).field().size() == 128);
}

}  // namespace
}  // namespace pitstop
