#include "supervisor/cli/command_table.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace pitstop {
namespace {

std::string Path(const CommandSpec& spec) {
  return spec.group.empty() ? spec.name : spec.group + " " + spec.name;
}

TEST_CASE("the command table holds every subcommand once, in help order",
          "[cli]") {
  std::vector<std::string> paths;
  std::set<std::string> groups;
  for (const CommandSpec& spec : CommandTable()) {
    INFO(Path(spec));
    REQUIRE(!spec.help.empty());
    if (!spec.group.empty()) REQUIRE(groups.count(spec.group) == 1);
    if (!spec.make) groups.insert(spec.name);
    paths.push_back(Path(spec));
  }
  REQUIRE(paths ==
          std::vector<std::string>{
              "drivers",     "describe",    "validate",    "top",
              "start",       "stop",        "restart",     "reset",
              "install",     "remove",      "upgrade",     "rollback",
              "where",       "pin",         "unpin",       "packages",
              "order",       "events",      "call",        "car",
              "car pack",    "car sign",    "car inspect", "car verify",
              "ca",          "ca init",     "ca issue",    "repo",
              "repo build",  "repo verify", "repo mirror", "repo add",
              "repo remove", "repo list",   "updates",     "audit"});
}

TEST_CASE("the CLI built from the table parses a local command", "[cli]") {
  CLI::App app;
  app.require_subcommand(1);
  GlobalOptions global;
  CommandSet commands(app, global, CommandTable());
  REQUIRE(commands.exit_code() == 0);
  // `car verify` of a missing file fails in the command, not the parser.
  const char* argv[] = {"pitstop",          "car",     "verify",
                        "/nonexistent.car", "--trust", "/nonexistent"};
  app.parse(6, const_cast<char**>(argv));
  REQUIRE(commands.exit_code() == kExitFailure);
}

TEST_CASE("the output option takes table or json only", "[cli]") {
  CLI::App app;
  GlobalOptions global;
  CommandSet commands(app, global, CommandTable());
  const char* argv[] = {"pitstop", "drivers", "--output", "yaml"};
  REQUIRE_THROWS_AS(app.parse(4, const_cast<char**>(argv)),
                    CLI::ValidationError);
}

}  // namespace
}  // namespace pitstop
