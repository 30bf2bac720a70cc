#include "supervisor/cli/property_args.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

sv1::Driver Schema() {
  sv1::Driver d;
  d.set_name("flashpool");
  auto add = [&](const char* key, sv1::PropertyType type) {
    auto* p = d.add_properties();
    p->set_key(key);
    p->set_type(type);
  };
  add("management_vip", sv1::PROPERTY_TYPE_STRING);
  add("default_min_iops", sv1::PROPERTY_TYPE_NUMBER);
  add("verify_tls", sv1::PROPERTY_TYPE_BOOLEAN);
  add("expires", sv1::PROPERTY_TYPE_DATE);
  return d;
}

TEST_CASE("property arguments are typed by the driver's schema", "[cli]") {
  google::protobuf::Map<std::string, dv1::PropertyValue> props;
  REQUIRE(ParseProperties({"management_vip=10.0.0.5", "default_min_iops=250",
                           "verify_tls=false", "expires=2027-01-31"},
                          Schema(), &props)
              .ok());
  REQUIRE(props["management_vip"].string_value() == "10.0.0.5");
  REQUIRE(props["default_min_iops"].number_value() == 250);
  REQUIRE(props["verify_tls"].has_bool_value());
  REQUIRE(!props["verify_tls"].bool_value());
  REQUIRE(props["expires"].date_value().seconds() == 1801353600);
}

TEST_CASE("bad --prop and --resource arguments name what is wrong", "[cli]") {
  google::protobuf::Map<std::string, dv1::PropertyValue> props;
  auto s = ParseProperties({"nope=1"}, Schema(), &props);
  REQUIRE(s.message().find("no property 'nope'") != std::string::npos);
  REQUIRE(s.message().find("management_vip, default_min_iops") !=
          std::string::npos);
  s = ParseProperties({"default_min_iops=lots"}, Schema(), &props);
  REQUIRE(s.message() ==
          "--prop default_min_iops: expected a number, got 'lots'");
  REQUIRE(!ParseProperties({"verify_tls=yes"}, Schema(), &props).ok());
  REQUIRE(!ParseProperties({"novalue"}, Schema(), &props).ok());

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
