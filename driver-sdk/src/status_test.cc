#include "pitstop/sdk/status.h"

#include <catch2/catch.hpp>

namespace pitstop::sdk {
namespace {

TEST_CASE("status codes and messages cross between absl and gRPC unchanged",
          "[sdk]") {
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status not_found =
      ToGrpcStatus(absl::NotFoundError("volume 'v1' does not exist"));
  CHECK(not_found.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(not_found.error_message() == "volume 'v1' does not exist");
  CHECK(ToGrpcStatus(absl::ResourceExhaustedError("full")).error_code() ==
        grpc::StatusCode::RESOURCE_EXHAUSTED);

  const absl::Status back = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "in maintenance"));
  CHECK(back.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(back.message() == "in maintenance");
  CHECK(FromGrpcStatus(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace pitstop::sdk
