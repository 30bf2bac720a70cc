// The CLI's output against the real daemon: `pitstop packages` lists every
// installed version, `--output json` is byte for byte stable, events are
// numbered, and the global options work after the subcommand.

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// A daemon on a fresh drivers directory holding recorder 1.0.0 only.
class RecorderDaemon {
 public:
  RecorderDaemon() : dir_(MakeDir()), daemon_(Spec(dir_)) {}
  ~RecorderDaemon() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Daemon& daemon() { return daemon_; }

  CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(),
                {PITSTOP_CLI_PATH, "--address", daemon_.address()});
    return RunCommand(args);
  }

 private:
  static std::string MakeDir() {
    std::string t = (fs::temp_directory_path() / "pitstop-cli-XXXXXX").string();
    std::string dir = ::mkdtemp(t.data());
    fs::copy_file(RecorderCar(1), dir + "/recorder-1.0.0.car");
    return dir;
  }
  static DaemonSpec Spec(const std::string& dir) {
    DaemonSpec spec;
    spec.cars_dir = dir;
    spec.await_ready = "recorder";
    return spec;
  }

  std::string dir_;
  Daemon daemon_;
};

// The rows of a table whose first column is `name`, split on spaces.
std::vector<std::vector<std::string>> RowsOf(const std::string& table,
                                             const std::string& name) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(table, '\n')) {
    std::vector<std::string> cells =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (!cells.empty() && cells[0] == name) rows.push_back(cells);
  }
  return rows;
}

TEST_CASE(
    "pitstop packages lists every installed version and marks the "
    "active one",
    "[integration]") {
  RecorderDaemon r;
  CommandResult install = r.Cli({"install", RecorderCar(2)});
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);

  CommandResult packages = r.Cli({"packages"});
  INFO(packages.out << packages.err);
  REQUIRE(packages.exit_code == 0);
  REQUIRE(packages.out.find("ACTIVE") != std::string::npos);
  const auto rows = RowsOf(packages.out, "recorder");
  REQUIRE(rows.size() == 2);
  REQUIRE(rows[0][1] == "1.0.0");
  REQUIRE(rows[0].back() == "yes");
  REQUIRE(rows[0][4].find("recorder-1.0.0.car") != std::string::npos);
  REQUIRE(rows[1][1] == "2.0.0");
  REQUIRE(rows[1].back() == "no");

  CommandResult json = r.Cli({"packages", "--output", "json"});
  REQUIRE(json.exit_code == 0);
  REQUIRE(json.out.find("\"version\": \"1.0.0\"") != std::string::npos);
  const size_t installed = json.out.find("\"installed_versions\"");
  REQUIRE(installed != std::string::npos);
  REQUIRE(json.out.find("\"1.0.0\"", installed) <
          json.out.find("]", installed));
  REQUIRE(json.out.find("\"2.0.0\"", installed) <
          json.out.find("]", installed));
}

TEST_CASE("the global options work after the subcommand too", "[cli]") {
  RecorderDaemon d;
  // --address after the subcommand: the daemon is found.
  CommandResult after = RunCommand(
      {PITSTOP_CLI_PATH, "drivers", "--address", d.daemon().address()});
  INFO(after.out << after.err);
  CHECK(after.exit_code == 0);
  CHECK(after.out.find("recorder") != std::string::npos);
  // --timeout after it: a deadline too short to meet is applied.
  CommandResult hurried =
      RunCommand({PITSTOP_CLI_PATH, "describe", "recorder", "--address",
                  d.daemon().address(), "--timeout", "0.000001"});
  INFO(hurried.out << hurried.err);
  CHECK(hurried.exit_code != 0);
  CHECK(hurried.err.find("DEADLINE_EXCEEDED") != std::string::npos);
}

TEST_CASE("events are numbered and can be followed from a given one", "[cli]") {
  RecorderDaemon d;
  CommandResult all = d.Cli({"events"});
  INFO(all.out << all.err);
  REQUIRE(all.exit_code == 0);
  REQUIRE(absl::StartsWith(all.out, "#1  "));
  // The last event's number: nothing comes after it.
  const size_t last_line = all.out.rfind("\n#");
  REQUIRE(last_line != std::string::npos);
  const std::string last = all.out.substr(
      last_line + 2, all.out.find(' ', last_line) - last_line - 2);
  CommandResult after = d.Cli({"events", "--after", last});
  INFO(after.out << after.err);
  CHECK(after.exit_code == 0);
  CHECK(after.out.empty());
  CHECK(d.Cli({"events", "--new"}).out.empty());
  // In JSON, a process event carries no transition.
  CommandResult json = d.Cli({"events", "-o", "json"});
  for (absl::string_view line : absl::StrSplit(json.out, '\n')) {
    if (line.find("\"kind\": \"process\"") == absl::string_view::npos &&
        line.find("\"kind\":\"process\"") == absl::string_view::npos) {
      continue;
    }
    INFO(line);
    CHECK(line.find("DRIVER_STATE_UNSPECIFIED") != absl::string_view::npos);
  }
}

TEST_CASE("JSON output prints the same bytes twice on an unchanged daemon",
          "[integration]") {
  RecorderDaemon r;
  // Two versions and two instances' worth of fields; nothing here is a
  // live figure (no uptime: state_since is the time of the last change).
  REQUIRE(r.Cli({"install", RecorderCar(2)}).exit_code == 0);
  for (std::vector<std::string> args : {
           std::vector<std::string>{"drivers"},
           std::vector<std::string>{"describe", "recorder"},
           std::vector<std::string>{"packages"},
       }) {
    args.insert(args.end(), {"--output", "json"});
    INFO(args[0]);
    const CommandResult first = r.Cli(args);
    REQUIRE(first.exit_code == 0);
    REQUIRE(first.out.find("\"recorder\"") != std::string::npos);
    for (int round = 0; round < 3; ++round) {
      const CommandResult again = r.Cli(args);
      REQUIRE(again.exit_code == 0);
      REQUIRE(again.out == first.out);
    }
  }
}

}  // namespace
}  // namespace pitstop
