#ifndef PITSTOP_SUPERVISOR_CLI_COMMAND_H_
#define PITSTOP_SUPERVISOR_CLI_COMMAND_H_

// A `pitstop` subcommand and its row in the command table. Each file under
// commands/ defines its commands as small classes and lists them in one
// table (commands/commands.h); command_table.cc builds the CLI from those.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/cli/admin_client.h"
#include "supervisor/cli/output.h"

namespace pitstop {

// What a running command is given.
struct CommandContext {
  const GlobalOptions& global;
  const Output& output;
};

// One subcommand. Its arguments are members, bound by Define; Run is called
// once after parsing. Commands print their own results and errors.
class Command {
 public:
  virtual ~Command() = default;
  // Declares the arguments and flags (not --output: see CommandSpec).
  virtual void Define(CLI::App& /*cmd*/) {}
  // Returns the exit code.
  virtual int Run(const CommandContext& context) = 0;
};

enum class TakesOutput { kNo, kYes };

// One row of the command table.
struct CommandSpec {
  // "" for a top-level command; else the group it belongs to ("car").
  std::string group;
  std::string name;
  std::string help;
  // Whether it takes `--output,-o table|json` (added after its own options).
  TakesOutput output = TakesOutput::kNo;
  // Makes the command; empty for a group, which needs one subcommand.
  std::function<std::unique_ptr<Command>()> make;
};

template <typename T, typename... Args>
std::function<std::unique_ptr<Command>()> Make(Args... args) {
  return [=] { return std::make_unique<T>(args...); };
}

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_COMMAND_H_
