#include "supervisor/sanity/junit.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("JUnit XML counts failures and skips and escapes messages",
          "[sanity]") {
  std::vector<CaseResult> cases(3);
  cases[0].name = "start.ready";
  cases[0].took = absl::Milliseconds(1500);
  cases[1].name = "identity.get-info";
  cases[1].outcome = CaseResult::Outcome::kFailed;
  cases[1].message = "name 'a<b>' & \"c\"\x01";
  cases[2].name = "lifecycle.sigterm";
  cases[2].outcome = CaseResult::Outcome::kSkipped;
  cases[2].message = "not READY";
  const std::string xml = JunitXml("pitstop-sanity", "pitstop-sanity.x", cases);
  INFO(xml);
  CHECK(xml.find("<testsuite name=\"pitstop-sanity\" tests=\"3\" "
                 "failures=\"1\" errors=\"0\" skipped=\"1\" time=\"1.500\">") !=
        std::string::npos);
  CHECK(xml.find("<testcase classname=\"pitstop-sanity.x\" "
                 "name=\"start.ready\" time=\"1.500\"/>") != std::string::npos);
  CHECK(xml.find("<failure message=\"name &apos;a&lt;b&gt;&apos; &amp; "
                 "&quot;c&quot;\">") != std::string::npos);
  CHECK(xml.find("<skipped message=\"not READY\"/>") != std::string::npos);
  CHECK(xml.find('\x01') == std::string::npos);
}

}  // namespace
}  // namespace pitstop
