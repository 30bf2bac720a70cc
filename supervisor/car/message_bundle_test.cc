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

TEST_CASE("locale bundles fall back to the language, the default, the key",
          "[car]") {
  MessageCatalog c;
  c.SetDefaultForTest(MessageBundle::Parse("a=Default A\nb=Default B\n"));
  c.AddLocaleForTest("de", MessageBundle::Parse("a=Deutsch A\n"));
  c.AddLocaleForTest("pt_BR", MessageBundle::Parse("b=Brasil B\n"));
  REQUIRE(c.Lookup("a") == "Default A");
  REQUIRE(c.Lookup("a", "de") == "Deutsch A");
  REQUIRE(c.Lookup("a", "de_AT") == "Deutsch A");
  REQUIRE(c.Lookup("b", "de") == "Default B");
  REQUIRE(c.Lookup("b", "pt_BR") == "Brasil B");
  REQUIRE(c.Lookup("b", "fr") == "Default B");
  REQUIRE(c.Lookup("zzz", "de") == "zzz");
  REQUIRE(c.locales() == std::vector<std::string>{"de", "pt_BR"});
}

}  // namespace
}  // namespace pitstop
