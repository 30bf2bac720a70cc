#include "supervisor/sanity/junit.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pitstop {

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') {
          out += c;
        }
    }
  }
  return out;
}

std::string JunitXml(const std::string& suite, const std::string& classname,
                     const std::vector<CaseResult>& cases) {
  int failures = 0, skipped = 0;
  absl::Duration total;
  for (const CaseResult& c : cases) {
    failures += c.outcome == CaseResult::Outcome::kFailed;
    skipped += c.outcome == CaseResult::Outcome::kSkipped;
    total += c.took;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppend(&out, "<testsuite name=\"", XmlEscape(suite), "\" tests=\"",
                  cases.size(), "\" failures=\"", failures,
                  "\" errors=\"0\" skipped=\"", skipped, "\" time=\"",
                  absl::StrFormat("%.3f", absl::ToDoubleSeconds(total)),
                  "\">\n");
  for (const CaseResult& c : cases) {
    absl::StrAppend(&out, "  <testcase classname=\"", XmlEscape(classname),
                    "\" name=\"", XmlEscape(c.name), "\" time=\"",
                    absl::StrFormat("%.3f", absl::ToDoubleSeconds(c.took)),
                    "\"");
    switch (c.outcome) {
      case CaseResult::Outcome::kPassed:
        out += "/>\n";
        break;
      case CaseResult::Outcome::kFailed:
        absl::StrAppend(&out, ">\n    <failure message=\"",
                        XmlEscape(c.message), "\">", XmlEscape(c.message),
                        "</failure>\n  </testcase>\n");
        break;
      case CaseResult::Outcome::kSkipped:
        absl::StrAppend(&out, ">\n    <skipped message=\"",
                        XmlEscape(c.message), "\"/>\n  </testcase>\n");
        break;
    }
  }
  out += "</testsuite>\n";
  return out;
}

}  // namespace pitstop
