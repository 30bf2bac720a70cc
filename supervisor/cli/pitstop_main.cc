// pitstop: the operator CLI. Talks to pitstopd's AdminService and, for
// `call`, to the routed category services; packs CARs locally. The
// subcommands are in commands/, one table per file.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

#include "supervisor/cli/admin_client.h"
#include "supervisor/cli/command_table.h"

namespace pitstop {
namespace {

constexpr char kDefaultAddress[] = "unix:/run/pitstop/pitstopd.sock";

int Main(int argc, char** argv) {
  CLI::App app{"pitstop: operate the Pitstop driver supervisor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("pitstop ") + PITSTOP_VERSION);
  GlobalOptions global;
  const char* env_address = std::getenv("PITSTOP_ADDRESS");
  global.address = env_address ? env_address : kDefaultAddress;
  app.add_option("--address", global.address,
                 "pitstopd's address: unix:/PATH or HOST:PORT "
                 "(default $PITSTOP_ADDRESS or " +
                     std::string(kDefaultAddress) + ")");
  app.add_option("--timeout", global.timeout_seconds,
                 "seconds to wait for an answer")
      ->check(CLI::PositiveNumber);
  AddTlsFlags(app, global.tls);
  // The options above work after the subcommand too (`pitstop drivers
  // --timeout 5`): subcommands made from here on inherit this.
  app.fallthrough();

  CommandSet commands(app, global, CommandTable());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return commands.exit_code();
}

}  // namespace
}  // namespace pitstop

int main(int argc, char** argv) { return pitstop::Main(argc, argv); }
