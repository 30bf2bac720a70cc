#include "supervisor/rpc/call_context_reader.h"

#include <catch2/catch.hpp>

#include "pitstop/driver/v1/storage.pb.h"

namespace pitstop {
namespace {

namespace v1 = pitstop::driver::v1;

std::string Serialize(const google::protobuf::Message& m) {
  return m.SerializeAsString();
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
  v1::CallContext read;
  REQUIRE(ReadCallContext(junk, &read).code() ==
          absl::StatusCode::kInvalidArgument);
  std::string wrong_type = "\x08\x01";  // field 1 as a varint
  REQUIRE(ReadCallContext(wrong_type, &read).code() ==
          absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pitstop
