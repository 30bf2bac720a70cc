// pitstop-sanity: checks a driver CAR against the driver contract under a
// real, private pitstopd, as csi-sanity does for CSI drivers
// (docs/vendor-guide.md, "Checking a driver with pitstop-sanity").

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/sanity/junit.h"
#include "supervisor/sanity/sanity_checks.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

int Fail(const std::string& message) {
  std::cerr << "pitstop-sanity: " << message << "\n";
  return 2;
}

// KEY=VALUE a line; blank lines and # comments skipped.
absl::Status ReadProps(const std::string& path,
                       std::map<std::string, std::string>* props) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    const size_t eq = text.find('=');
    if (eq == 0 || eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", n, ": expected KEY=VALUE, got '", text, "'"));
    }
    (*props)[std::string(text.substr(0, eq))] =
        std::string(text.substr(eq + 1));
  }
  return absl::OkStatus();
}

// pitstopd beside this program (build/bin), else where the package puts it.
std::string DefaultPitstopd() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / "pitstopd")) {
    return (self.parent_path() / "pitstopd").string();
  }
  return "/usr/sbin/pitstopd";
}

// strict where the host allows every protection, best-effort otherwise
// (a container), as the daemon's own check says.
std::string SandboxFor(const std::string& pitstopd) {
  const std::string command =
      "'" + pitstopd + "' --check-sandbox >/dev/null 2>&1";
  return std::system(command.c_str()) == 0 ? "" : "best-effort";
}

int Run(const std::string& car, const std::vector<std::string>& with,
        const std::string& props_file, int repeat, const std::string& junit,
        const std::string& pitstopd) {
  absl::StatusOr<std::string> yaml = ReadCarEntry(car, "META-INF/driver.yaml");
  if (!yaml.ok()) return Fail(std::string(yaml.status().message()));
  absl::StatusOr<DriverManifest> manifest =
      ParseDriverManifest(*yaml, car + "!META-INF/driver.yaml");
  if (!manifest.ok()) return Fail(std::string(manifest.status().message()));
  SanityTarget target;
  target.manifest = *manifest;
  target.car = car;
  target.props = BagFromSchema(target.manifest);
  if (!props_file.empty()) {
    target.props.clear();
    if (absl::Status s = ReadProps(props_file, &target.props); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  std::vector<std::string> cars = with;
  cars.push_back(car);
  auto daemon = SanityDaemon::Start(pitstopd, cars, SandboxFor(pitstopd));
  if (!daemon.ok()) return Fail(std::string(daemon.status().message()));
  target.daemon = daemon->get();
  // Interrupted (Ctrl-C, a CI job's timeout): its pitstopd, the drivers and
  // the directory go first. Main blocked both signals before any thread.
  SanityDaemon* running = daemon->get();
  std::thread([running] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) return;
    std::cerr << "pitstop-sanity: interrupted; stopping its pitstopd\n";
    running->Stop();
    _exit(130);
  }).detach();

  std::cout << "pitstop-sanity: " << target.manifest.name << " "
            << target.manifest.version.ToString() << " (" << car << ")\n";
  std::vector<CaseResult> results;
  bool ready = true;
  for (int round = 1; round <= repeat; ++round) {
    for (const SanityCheck& check : SanityChecks()) {
      CaseResult r;
      r.name = round == 1 ? check.name : absl::StrCat(check.name, "#", round);
      const absl::Time start = absl::Now();
      if (check.needs_ready && !ready) {
        r.outcome = CaseResult::Outcome::kSkipped;
        r.message = "the driver is not READY (start.ready failed)";
      } else if (absl::Status s = check.run(target); !s.ok()) {
        r.outcome = CaseResult::Outcome::kFailed;
        r.message = std::string(s.message());
        if (check.name == "start.ready") ready = false;
      }
      r.took = absl::Now() - start;
      const char* word = r.outcome == CaseResult::Outcome::kPassed   ? "ok  "
                         : r.outcome == CaseResult::Outcome::kFailed ? "FAIL"
                                                                     : "skip";
      std::cout << word << "  " << r.name
                << absl::StrFormat(" (%.2fs)", absl::ToDoubleSeconds(r.took))
                << (r.message.empty() ? "" : ": " + r.message) << std::endl;
      results.push_back(std::move(r));
    }
  }
  int failed = 0, skipped = 0;
  for (const CaseResult& r : results) {
    failed += r.outcome == CaseResult::Outcome::kFailed;
    skipped += r.outcome == CaseResult::Outcome::kSkipped;
  }
  std::cout << results.size()
            << " checks: " << results.size() - failed - skipped << " passed, "
            << failed << " failed, " << skipped << " skipped\n";
  if (failed > 0) {
    std::cout << "the daemon's log:\n" << target.daemon->Log();
  }
  if (!junit.empty()) {
    std::ofstream out(junit);
    out << JunitXml("pitstop-sanity", "pitstop-sanity." + target.manifest.name,
                    results);
    if (!out) return Fail("cannot write " + junit);
  }
  return failed > 0 ? 1 : 0;
}

int Main(int argc, char** argv) {
  // Taken by the thread Run starts (every thread inherits the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  CLI::App app{
      "pitstop-sanity: checks a driver CAR against the driver contract under "
      "a private pitstopd"};
  std::string car, props, junit, pitstopd = DefaultPitstopd();
  std::vector<std::string> with;
  int repeat = 1;
  bool list = false;
  app.add_option("--car", car, "the driver's CAR")->check(CLI::ExistingFile);
  app.add_option("--with", with,
                 "a CAR the driver requires (repeatable), installed beside it")
      ->check(CLI::ExistingFile);
  app.add_option("--props", props,
                 "a valid property bag, one KEY=VALUE a line (default: made "
                 "from the schema)");
  app.add_option("--repeat", repeat, "run the checks this many times")
      ->check(CLI::Range(1, 100));
  app.add_option("--junit", junit, "also write the results as JUnit XML");
  app.add_option("--pitstopd", pitstopd,
                 "the pitstopd to run (default: " + pitstopd + ")");
  app.add_flag("--list", list, "print the checks and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (list) {
    for (const SanityCheck& c : SanityChecks()) {
      std::cout << absl::StrFormat("%-28s %s\n", c.name, c.what);
    }
    return 0;
  }
  if (car.empty()) return Fail("--car is required (or --list)");
  return Run(car, with, props, repeat, junit, pitstopd);
}

}  // namespace
}  // namespace pitstop

int main(int argc, char** argv) { return pitstop::Main(argc, argv); }
