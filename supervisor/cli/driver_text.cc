#include "supervisor/cli/driver_text.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "supervisor/cli/cli_json.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;

std::string PidText(const sv1::Driver& d) {
  return d.pid() ? std::to_string(d.pid()) : "-";
}

namespace {

// The protections in force for the running instance (docs/sandbox.md).
void PrintSandbox(const sv1::Driver& d, std::ostream& out) {
  if (d.grants_size() > 0) {
    out << "Granted:      " << absl::StrJoin(d.grants(), ", ") << "\n";
  }
  const sv1::SandboxProtections& s = d.sandbox();
  if (s.mode().empty() || s.mode() == "off") return;
  auto yes = [](bool b) { return b ? "yes" : "NO"; };
  out << "Sandbox:      " << s.mode() << "\n"
      << "  namespaces:   "
      << (s.namespaces().empty() ? "none" : absl::StrJoin(s.namespaces(), ", "))
      << "\n"
      << "  private root: " << yes(s.private_root()) << "\n"
      << "  uid/gid:      " << s.uid() << "/" << s.gid() << "\n"
      << "  no_new_privs: " << yes(s.no_new_privs()) << "\n"
      << "  capabilities: "
      << (s.capabilities_dropped() ? "none" : "NOT dropped") << "\n"
      << "  seccomp:      " << (s.seccomp() ? "deny-list, kill" : "NO") << "\n"
      << "  cgroup:       " << (s.cgroup().empty() ? "none" : s.cgroup());
  if (!s.cgroup().empty()) {
    out << " (memory " << s.memory_limit_bytes() / (1024 * 1024)
        << " MiB, pids " << s.pids_limit() << ")";
  }
  out << "\n"
      << "  rlimits:      " << absl::StrJoin(s.rlimits(), ", ") << "\n"
      << "  network:      " << s.network() << "\n";
  for (const std::string& gap : s.gaps()) {
    out << "  MISSING:      " << gap << "\n";
  }
}

void PrintSummary(const sv1::Driver& d, std::ostream& out) {
  out << "Name:         " << d.name() << "\n"
      << "Version:      " << d.version() << "\n"
      << "Category:     " << CategoryLabel(d.category()) << "\n"
      << "Vendor:       " << d.vendor() << "\n"
      << "Description:  " << d.description() << "\n"
      << "State:        " << StateName(d.state()) << " since "
      << google::protobuf::util::TimeUtil::ToString(d.state_since()) << "\n"
      << "Pid:          " << PidText(d) << "\n"
      << "Restarts:     " << d.restarts() << "\n";
  if (!d.message().empty()) out << "Message:      " << d.message() << "\n";
  if (!d.last_exit().empty()) {
    out << "Last exit:    " << d.last_exit() << "\n";
  }
  out << "Protocol:     " << absl::StrJoin(d.protocol_versions(), ", ") << "\n"
      << "Resources:    " << absl::StrJoin(d.resource_types(), ", ") << "\n"
      << "Capabilities: " << absl::StrJoin(d.capabilities(), ", ") << "\n"
      << "Installed in: " << d.install_dir() << "\n"
      << "Signed by:    " << (d.signer().empty() ? "(unsigned)" : d.signer())
      << "\n";
  if (!d.socket_path().empty()) {
    out << "Socket:       " << d.socket_path() << "\n";
  }
}

// "2.0.0 1234 calls, 0.10% driver errors, p99 3.2ms".
std::string FiguresText(const sv1::CanaryFigures& f) {
  return absl::StrFormat("%s %d calls, %.2f%% driver errors, p99 %.1fms",
                         f.version(), f.calls(), f.error_rate() * 100,
                         f.p99_seconds() * 1000);
}

void PrintCanary(const sv1::Canary& c, std::ostream& out) {
  std::vector<std::string> steps;
  for (double p : c.plan().steps_percent()) {
    steps.push_back(absl::StrFormat("%g%%", p));
  }
  out << "Canary:       " << absl::StrFormat("%g%%", c.percent()) << " on "
      << c.to_version() << " (step " << c.step() + 1 << " of "
      << c.plan().steps_percent_size() << ": " << absl::StrJoin(steps, ",")
      << ", every " << c.plan().interval_ms() / 1000.0 << "s"
      << (c.plan().resources_size() > 0
              ? absl::StrCat(", ", c.plan().resources_size(), " named")
              : "")
      << ")" << (c.paused() ? ", paused" : "")
      << (c.serving()    ? ""
          : c.resuming() ? ", waiting for the new version to answer after a "
                           "restart of pitstopd"
                         : ", the new version is not serving yet")
      << "\n";
  const sv1::CanaryGate& g = c.plan().gate();
  out << "Gate:         errors at most "
      << absl::StrFormat("%g", g.max_error_rate_increase_percent())
      << " points above " << c.from_version() << ", p99 at most "
      << absl::StrFormat("%g", g.max_p99_ratio()) << "x, from " << g.min_calls()
      << " calls";
  if (c.has_gate_time()) {
    const int64_t left =
        c.gate_time().seconds() - absl::ToUnixSeconds(absl::Now());
    out << "; judged in " << std::max<int64_t>(left, 0) << "s";
  }
  out << "\n";
  if (c.serving()) {
    out << "This step:    " << FiguresText(c.new_figures()) << " / "
        << FiguresText(c.old_figures()) << "\n";
  }
  if (!c.verdict().empty()) out << "Last gate:    " << c.verdict() << "\n";
  if (c.resources_moving() > 0) {
    out << "Moving:       " << c.resources_moving()
        << " resources wait for their calls on " << c.from_version() << "\n";
  }
}

void PrintVersions(const sv1::Driver& d, std::ostream& out) {
  out << "Installed:    " << absl::StrJoin(d.installed_versions(), ", ")
      << "\n";
  if (!d.previous_version().empty()) {
    out << "Previous:     " << d.previous_version() << " (`pitstop rollback "
        << d.name() << "` returns to it)\n";
  }
  if (!d.upgrade().empty()) {
    out << "Upgrade:      " << d.upgrade() << "\n";
  }
  if (d.has_canary()) PrintCanary(d.canary(), out);
  for (const auto& pin : d.pins()) {
    out << "Pinned:       " << pin.resource() << " on " << pin.version()
        << "\n";
  }
  for (const auto& i : d.instances()) {
    out << "Instance:     " << i.version() << " " << i.role() << ", pid "
        << (i.pid() ? std::to_string(i.pid()) : "-") << ", "
        << i.calls_in_flight() << " calls in flight\n";
  }
}

std::string RulesText(const sv1::PropertySchema& p) {
  std::vector<std::string> rules;
  if (p.max_length() > 0) {
    rules.push_back(absl::StrCat("<= ", p.max_length(), " chars"));
  }
  if (!p.minimum().empty()) rules.push_back(">= " + p.minimum());
  if (!p.maximum().empty()) rules.push_back("<= " + p.maximum());
  if (p.allowed_values_size() > 0) {
    std::vector<std::string> allowed;
    for (const auto& a : p.allowed_values()) {
      allowed.push_back(PropertyValueText(a));
    }
    rules.push_back("one of " + absl::StrJoin(allowed, "|"));
  }
  return rules.empty() ? "-" : absl::StrJoin(rules, ", ");
}

void PrintProperties(const sv1::Driver& d, std::ostream& out) {
  out << "Properties:\n";
  std::vector<std::vector<std::string>> rows = {
      {"  KEY", "TYPE", "REQUIRED", "DEFAULT", "RULES", "LABEL"}};
  for (const auto& p : d.properties()) {
    std::string type = sv1::PropertyType_Name(p.type()).substr(14);
    std::string def =
        p.has_default_value() ? PropertyValueText(p.default_value()) : "";
    rows.push_back(
        {"  " + p.key(),
         absl::AsciiStrToLower(type) + (p.secret() ? " (secret)" : ""),
         p.required() ? "yes" : "no", def, RulesText(p), p.label()});
  }
  out << FormatTable(rows);
}

}  // namespace

void PrintDriver(const sv1::Driver& d, std::ostream& out) {
  PrintSummary(d, out);
  PrintVersions(d, out);
  PrintSandbox(d, out);
  PrintProperties(d, out);
}

}  // namespace pitstop
