#ifndef PITSTOP_SUPERVISOR_CLI_COMMANDS_COMMANDS_H_
#define PITSTOP_SUPERVISOR_CLI_COMMANDS_COMMANDS_H_

// Each file's table of commands, in the order `pitstop --help` lists them.
// A group's row comes before its subcommands' rows.

#include <vector>

#include "supervisor/cli/command.h"

namespace pitstop {

std::vector<CommandSpec> DriversCommands();    // drivers, describe, validate
std::vector<CommandSpec> TopCommands();        // top
std::vector<CommandSpec> LifecycleCommands();  // start, stop, restart, reset
std::vector<CommandSpec> InstallCommands();    // install, remove
std::vector<CommandSpec> UpgradeCommands();    // upgrade, rollback
std::vector<CommandSpec> StatusCommands();     // packages, order, events
std::vector<CommandSpec> CallCommands();       // call
std::vector<CommandSpec> CarCommands();        // car pack|sign|inspect|verify
std::vector<CommandSpec> CaCommands();         // ca init|issue
std::vector<CommandSpec> RepoCommands();       // repo ..., updates
std::vector<CommandSpec> AuditCommands();      // audit [verify]

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_COMMANDS_COMMANDS_H_
