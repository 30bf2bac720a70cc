#include "supervisor/cli/property_args.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

namespace dv1 = pitstop::driver::v1;

TEST_CASE("property arguments become text values for the daemon to type",
          "[cli]") {
  google::protobuf::Map<std::string, dv1::PropertyValue> props;
  REQUIRE(ParseProperties({"management_vip=10.0.0.5", "default_min_iops=250",
                           "note=a=b", "empty="},
                          &props)
              .ok());
  REQUIRE(props["management_vip"].string_value() == "10.0.0.5");
  REQUIRE(props["default_min_iops"].string_value() == "250");
  REQUIRE(props["note"].string_value() == "a=b");
  REQUIRE(props["empty"].has_string_value());
  auto s = ParseProperties({"novalue"}, &props);
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s.message().find("KEY=VALUE") != std::string::npos);
  REQUIRE(!ParseProperties({"=x"}, &props).ok());
}

TEST_CASE("resource arguments are TYPE/ID", "[cli]") {
  dv1::ResourceRef r;
  REQUIRE(ParseResource("volume/v1", &r).ok());
  REQUIRE(r.type() == "volume");
  REQUIRE(r.id() == "v1");
  REQUIRE(ParseResource("volume/a/b", &r).ok());
  REQUIRE(r.id() == "a/b");
  REQUIRE(!ParseResource("volume", &r).ok());
  REQUIRE(!ParseResource("/v1", &r).ok());
}

}  // namespace
}  // namespace pitstop
