#include "supervisor/cli/command_table.h"

#include <iostream>

#include "supervisor/cli/commands/commands.h"
#include "supervisor/common/check.h"

namespace pitstop {

std::vector<CommandSpec> CommandTable() {
  std::vector<CommandSpec> table;
  for (auto* part :
       {DriversCommands, TopCommands, LifecycleCommands, InstallCommands,
        UpgradeCommands, StatusCommands, CallCommands, CarCommands, CaCommands,
        RepoCommands, AuditCommands}) {
    for (CommandSpec& spec : part()) table.push_back(std::move(spec));
  }
  return table;
}

CommandSet::CommandSet(CLI::App& app, const GlobalOptions& global,
                       const std::vector<CommandSpec>& table)
    : app_(app), global_(global) {
  for (const CommandSpec& spec : table) Add(spec);
}

CLI::App& CommandSet::Parent(const std::string& group) {
  if (group.empty()) return app_;
  auto it = groups_.find(group);
  CHECK(it != groups_.end());  // a group's row comes before its commands
  return *it->second;
}

void CommandSet::Add(const CommandSpec& spec) {
  CLI::App* cmd = Parent(spec.group).add_subcommand(spec.name, spec.help);
  if (!spec.make) {
    cmd->require_subcommand(1);
    groups_[spec.name] = cmd;
    return;
  }
  commands_.push_back(spec.make());
  Command* command = commands_.back().get();
  command->Define(*cmd);
  if (spec.output == TakesOutput::kYes) {
    cmd->add_option("--output,-o", output_format_, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
  }
  cmd->callback([this, command] {
    const Output output(
        output_format_ == "json" ? OutputFormat::kJson : OutputFormat::kTable,
        std::cout);
    exit_code_ = command->Run(CommandContext{global_, output});
  });
}

}  // namespace pitstop
