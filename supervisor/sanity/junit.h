#ifndef PITSTOP_SUPERVISOR_SANITY_JUNIT_H_
#define PITSTOP_SUPERVISOR_SANITY_JUNIT_H_

// JUnit XML, as CI systems read it: one <testsuite> of <testcase>s, each
// passed, failed (<failure message>) or skipped (<skipped message>). Pure.

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace pitstop {

struct CaseResult {
  enum class Outcome { kPassed, kFailed, kSkipped };
  std::string name;
  Outcome outcome = Outcome::kPassed;
  std::string message;  // why it failed or was skipped
  absl::Duration took;
};

std::string JunitXml(const std::string& suite, const std::string& classname,
                     const std::vector<CaseResult>& cases);

// `text` with &, <, >, " and ' escaped, and characters XML 1.0 forbids
// (controls other than tab and newline) dropped.
std::string XmlEscape(const std::string& text);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANITY_JUNIT_H_
