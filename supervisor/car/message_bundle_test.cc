#include "supervisor/car/message_bundle.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("message bundles read Java properties syntax", "[car]") {
  MessageBundle b = MessageBundle::Parse(
      "# comment\n"
      "! another comment\n"
      "prop.vip.label = Management VIP\n"
      "prop.user.label: Admin user\n"
      "long = first \\\n"
      "       second\n"
      "unicode=caf\\u00e9\n"
      "  spaced   value with spaces  \n");
  REQUIRE(b.Lookup("prop.vip.label") == "Management VIP");
  REQUIRE(b.Lookup("prop.user.label") == "Admin user");
  REQUIRE(b.Lookup("long") == "first second");
  REQUIRE(b.Lookup("unicode") == "caf\xC3\xA9");
  REQUIRE(b.Lookup("spaced") == "value with spaces  ");
  REQUIRE(b.Lookup("missing.key") == "missing.key");
}

}  // namespace
}  // namespace pitstop
