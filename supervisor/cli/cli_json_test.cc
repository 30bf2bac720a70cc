#include "supervisor/cli/cli_json.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

std::vector<std::string> Keys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("key" + std::to_string(i));
  return keys;
}

google::protobuf::Value Object(const std::vector<std::string>& keys) {
  google::protobuf::Value v;
  auto& fields = *v.mutable_struct_value()->mutable_fields();
  for (const std::string& k : keys) fields[k].set_string_value(k);
  return v;
}

TEST_CASE("the same JSON object prints the same text, keys sorted", "[cli]") {
  std::vector<std::string> keys = Keys(40);
  const std::string first = JsonText(Object(keys));
  // Another map with other buckets and another insertion order: before the
  // fix its key order differed from call to call.
  for (int round = 0; round < 20; ++round) {
    std::rotate(keys.begin(), keys.begin() + 7, keys.end());
    REQUIRE(JsonText(Object(keys)) == first);
  }
  REQUIRE(first.find("\"key0\"") < first.find("\"key1\""));
  REQUIRE(first.find("\"key1\"") < first.find("\"key10\""));
}

TEST_CASE("a driver as JSON prints the same text each time", "[cli]") {
  sv1::Driver d;
  d.set_name("flashpool");
  d.set_version("1.0.0");
  d.add_installed_versions("1.0.0");
  d.add_installed_versions("1.1.0");
  d.add_properties()->set_key("management_vip");
  d.add_instances()->set_version("1.0.0");
  const std::string first = JsonText(DriverToJson(d));
  for (int round = 0; round < 20; ++round) {
    REQUIRE(JsonText(DriverToJson(d)) == first);
  }
  REQUIRE(first.find("\"name\": \"flashpool\"") != std::string::npos);
}

TEST_CASE("a message's map field prints in key order", "[cli]") {
  sv1::ValidatePropertiesResponse response;
  for (const std::string& k : Keys(30)) {
    (*response.mutable_properties())[k].set_string_value(k);
  }
  const std::string indented = MessageJson(response, JsonLayout::kIndented);
  const std::string line = MessageJson(response, JsonLayout::kOneLine);
  REQUIRE(line.find('\n') == std::string::npos);
  size_t at = 0;
  for (const char* k : {"\"key0\"", "\"key1\"", "\"key10\"", "\"key2\""}) {
    const size_t next = line.find(k);
    REQUIRE(next != std::string::npos);
    REQUIRE(next >= at);
    at = next;
  }
  // Every field, with proto field names.
  REQUIRE(indented.find("\"violations\": []") != std::string::npos);
  REQUIRE(indented.find("\"valid\": false") != std::string::npos);
}

TEST_CASE("property values print as their text", "[cli]") {
  dv1::PropertyValue v;
  v.set_number_value("100");
  REQUIRE(PropertyValueText(v) == "100");
  v.set_bool_value(true);
  REQUIRE(PropertyValueText(v) == "true");
  v.set_string_value("abc");
  REQUIRE(PropertyValueText(v) == "abc");
}

}  // namespace
}  // namespace pitstop
