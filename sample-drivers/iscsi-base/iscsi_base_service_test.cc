#include "iscsi_base_service.h"

#include <catch2/catch.hpp>

namespace pitstop::iscsi_base {
namespace {

namespace v1 = ::pitstop::driver::v1;

TEST_CASE("iscsi-base reports its initiator prefix, default or configured",
          "[iscsi-base]") {
  IscsiBaseService service;
  grpc::ServerContext server_context;
  v1::GetStorageCapabilitiesRequest request;
  v1::GetStorageCapabilitiesResponse response;
  REQUIRE(service.GetCapabilities(&server_context, &request, &response).ok());
  REQUIRE(response.capabilities().at("INITIATOR_PREFIX") ==
          kDefaultInitiatorPrefix);
  REQUIRE(response.capabilities().at("ISCSI") == "true");

  (*request.mutable_context()->mutable_properties())["initiator_prefix"]
      .set_string_value("iqn.2026-01.com.example");
  REQUIRE(service.GetCapabilities(&server_context, &request, &response).ok());
  REQUIRE(response.capabilities().at("INITIATOR_PREFIX") ==
          "iqn.2026-01.com.example");
}

TEST_CASE("iscsi-base answers stats for pools only and implements no array",
          "[iscsi-base]") {
  IscsiBaseService service;
  grpc::ServerContext server_context;
  v1::GetStatsRequest request;
  request.mutable_context()->mutable_resource()->set_type("storage_pool");
  request.mutable_context()->mutable_resource()->set_id("pool-1");
  v1::GetStatsResponse stats;
  REQUIRE(service.GetStats(&server_context, &request, &stats).ok());
  REQUIRE(stats.capacity_bytes() == 0);

  request.mutable_context()->mutable_resource()->set_type("volume");
  REQUIRE(service.GetStats(&server_context, &request, &stats).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);

  v1::CreateVolumeRequest create;
  v1::CreateVolumeResponse created;
  grpc::Status s = service.CreateVolume(&server_context, &create, &created);
  REQUIRE(s.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  REQUIRE(s.error_message().find("CreateVolume") != std::string::npos);
}

}  // namespace
}  // namespace pitstop::iscsi_base
