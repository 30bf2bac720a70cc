#include "supervisor/rpc/status_conversion.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("status codes map one to one between Abseil and gRPC", "[rpc]") {
  for (int code = 0; code <= 16; ++code) {
    absl::Status s(static_cast<absl::StatusCode>(code), code ? "why" : "");
    grpc::Status g = ToGrpcStatus(s);
    REQUIRE(static_cast<int>(g.error_code()) == code);
    REQUIRE(FromGrpcStatus(g) == s);
  }
  REQUIRE(ToGrpcStatus(absl::NotFoundError("no driver named 'x'"))
              .error_message() == "no driver named 'x'");
}

}  // namespace
}  // namespace pitstop
