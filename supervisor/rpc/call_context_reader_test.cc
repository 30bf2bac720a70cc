#include "supervisor/rpc/call_context_reader.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <catch2/catch.hpp>

#include "pitstop/driver/v1/storage.pb.h"

namespace pitstop {
namespace {

namespace v1 = pitstop::driver::v1;

grpc::ByteBuffer Serialize(const google::protobuf::Message& m) {
  grpc::ByteBuffer buffer;
  bool own = false;
  REQUIRE(grpc::SerializationTraits<google::protobuf::Message>::Serialize(
              m, &buffer, &own)
              .ok());
  return buffer;
}

TEST_CASE("the call context is read from any operation request", "[rpc]") {
  v1::CreateVolumeRequest req;
  req.set_pool_id("pool-1");
  req.set_size_bytes(1 << 30);
  auto* ctx = req.mutable_context();
  ctx->mutable_resource()->set_type("volume");
  ctx->mutable_resource()->set_id("v1");
  ctx->set_operation_id("op-7");
  ctx->set_caller("admin");
  (*ctx->mutable_properties())["management_vip"].set_string_value("10.0.0.1");
  (*ctx->mutable_properties())["default_min_iops"].set_number_value("200");

  v1::CallContext read;
  REQUIRE(ReadCallContext(Serialize(req), &read).ok());
  REQUIRE(read.resource().type() == "volume");
  REQUIRE(read.resource().id() == "v1");
  REQUIRE(read.operation_id() == "op-7");
  REQUIRE(read.caller() == "admin");
  REQUIRE(read.properties().at("default_min_iops").number_value() == "200");
}

TEST_CASE("a request without a context reads as an empty context", "[rpc]") {
  v1::DeleteVolumeRequest req;
  v1::CallContext read;
  read.set_caller("stale");
  REQUIRE(ReadCallContext(Serialize(req), &read).ok());
  REQUIRE(read.caller().empty());
}

TEST_CASE("bytes that are not a request are refused", "[rpc]") {
  std::string junk =
      "\x0a\xff\xff\xff\xff\x0f garbage";  // field 1, huge length
  grpc::Slice slice(junk);
  grpc::ByteBuffer buffer(&slice, 1);
  v1::CallContext read;
  REQUIRE(ReadCallContext(buffer, &read).code() ==
          absl::StatusCode::kInvalidArgument);
  std::string wrong_type = "\x08\x01";  // field 1 as a varint
  grpc::Slice slice2(wrong_type);
  grpc::ByteBuffer buffer2(&slice2, 1);
  REQUIRE(ReadCallContext(buffer2, &read).code() ==
          absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pitstop
