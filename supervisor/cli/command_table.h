#ifndef PITSTOP_SUPERVISOR_CLI_COMMAND_TABLE_H_
#define PITSTOP_SUPERVISOR_CLI_COMMAND_TABLE_H_

// The whole command table, and the CLI11 subcommands built from it.

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/cli/command.h"

namespace pitstop {

// Every command of `pitstop`, in the order of its help.
std::vector<CommandSpec> CommandTable();

// Adds one subcommand of `app` per row of `table` and owns the commands.
// When CLI11 parses a subcommand it runs that command, with the Output its
// --output asked for, and keeps the exit code. Not copyable: the
// subcommands' callbacks point into it, so it must outlive the parse.
class CommandSet {
 public:
  CommandSet(CLI::App& app, const GlobalOptions& global,
             const std::vector<CommandSpec>& table);
  CommandSet(const CommandSet&) = delete;
  CommandSet& operator=(const CommandSet&) = delete;

  // The exit code of the command that ran; 0 before one ran.
  int exit_code() const { return exit_code_; }

 private:
  void Add(const CommandSpec& spec);
  CLI::App& Parent(const std::string& group);

  // Constant after construction
  CLI::App& app_;
  const GlobalOptions& global_;
  std::map<std::string, CLI::App*> groups_;
  std::vector<std::unique_ptr<Command>> commands_;

  // Set by parsing
  std::string output_format_ = "table";
  int exit_code_ = 0;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_COMMAND_TABLE_H_
