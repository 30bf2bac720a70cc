#include "supervisor/console/console.h"

#include <catch2/catch.hpp>

#include "supervisor/console/console_assets.h"

namespace pitstop {
namespace {

TEST_CASE("the browser's first language becomes the bundle locale",
          "[console]") {
  CHECK(LocaleFromAcceptLanguage("de-DE,de;q=0.9,en;q=0.8") == "de_DE");
  CHECK(LocaleFromAcceptLanguage("de") == "de");
  CHECK(LocaleFromAcceptLanguage(" pt-BR ;q=1") == "pt_BR");
  CHECK(LocaleFromAcceptLanguage("") == "");
  CHECK(LocaleFromAcceptLanguage("*") == "");
  CHECK(LocaleFromAcceptLanguage("../../etc") == "");
  CHECK(LocaleFromAcceptLanguage(std::string(100, 'a')) == "");
}

TEST_CASE("the console answers to IP addresses, localhost and named hosts",
          "[console]") {
  const std::vector<std::string> names = {"pitstop01.mgmt"};
  for (const char* ok : {"127.0.0.1:9464", "10.0.0.5", "[::1]:9464",
                         "[fe80::1]", "localhost:9464", "LOCALHOST",
                         "pitstop01.mgmt:9464", "PITSTOP01.MGMT"}) {
    INFO(ok);
    CHECK(ConsoleHostAllowed(ok, names));
  }
  // A rebinding attacker's name, a missing Host, a broken literal.
  for (const char* refused : {"evil.example:9464", "", "[::1", "127.0.0.1.evil",
                              "localhost.evil.example"}) {
    INFO(refused);
    CHECK_FALSE(ConsoleHostAllowed(refused, names));
  }
}

TEST_CASE("the console's files are compiled in, Chart.js among them",
          "[console]") {
  const ConsoleAsset* index = FindConsoleAsset("/");
  REQUIRE(index != nullptr);
  CHECK(index->content_type == "text/html; charset=utf-8");
  CHECK(index->body.find("/console.js") != absl::string_view::npos);
  const ConsoleAsset* chart = FindConsoleAsset("/chart.min.js");
  REQUIRE(chart != nullptr);
  CHECK(chart->body.find("Chart.js") != absl::string_view::npos);
  CHECK(chart->body.size() > 100000);
  CHECK(FindConsoleAsset("/console.css") != nullptr);
  CHECK(FindConsoleAsset("/nothing") == nullptr);
}

}  // namespace
}  // namespace pitstop
