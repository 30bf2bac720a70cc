#include "supervisor/common/status_macros.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST_CASE("ASSIGN_OR_RETURN passes values through and returns the first error",
          "[common]") {
  REQUIRE(Quarter(8).value() == 2);
  REQUIRE(Quarter(6).status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(CheckEven(4).ok());
  REQUIRE(absl::IsInvalidArgument(CheckEven(3)));
}

}  // namespace
}  // namespace pitstop
