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
