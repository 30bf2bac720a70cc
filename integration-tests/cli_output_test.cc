// The CLI's output against the real daemon: `pitstop packages` lists every
// installed version, and `--output json` is byte for byte stable.

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

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
