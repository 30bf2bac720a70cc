// `pitstop ca init|issue`: the project's driver-signing CA, locally.

#include "supervisor/car/code_signing_ca.h"
#include "supervisor/cli/commands/commands.h"

namespace pitstop {
namespace {

class CaInitCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("DIR", dir_, "directory for root.key and root.pem")
        ->required();
  }

  int Run(const CommandContext& c) override {
    absl::Status s = InitCodeSigningCa(dir_);
    if (!s.ok()) return Error(s.message());
    c.output.out() << "created " << dir_ << "/root.pem\n";
    return 0;
  }

 private:
  std::string dir_;
};

class CaIssueCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("DIR", dir_, "the CA's directory")->required();
    cmd.add_option("VENDOR", vendor_, "the vendor's name")->required();
  }

  int Run(const CommandContext& c) override {
    absl::Status s = IssueCodeSigningCertificate(dir_, vendor_);
    if (!s.ok()) return Error(s.message());
    c.output.out() << "issued " << dir_ << "/" << vendor_ << ".pem and .key\n";
    return 0;
  }

 private:
  std::string dir_;
  std::string vendor_;
};

}  // namespace

std::vector<CommandSpec> CaCommands() {
  return {
      {"", "ca", "the project's driver-signing certificate authority",
       TakesOutput::kNo, nullptr},
      {"ca", "init", "create a root CA in DIR", TakesOutput::kNo,
       Make<CaInitCommand>()},
      {"ca", "issue",
       "issue a vendor code-signing certificate from the CA in DIR",
       TakesOutput::kNo, Make<CaIssueCommand>()},
  };
}

}  // namespace pitstop
