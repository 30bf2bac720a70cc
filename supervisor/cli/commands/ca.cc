// `pitstop ca init|issue`: a local certificate authority, for driver
// signing (docs/signing.md) or for TLS between pitstopd and its clients
// (docs/security.md, "TLS"); one directory each.

#include "supervisor/car/code_signing_ca.h"
#include "supervisor/cli/commands/commands.h"

namespace pitstop {
namespace {

class CaInitCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("DIR", dir_, "directory for root.key and root.pem")
        ->required();
    cmd.add_flag("--tls", tls_,
                 "a root for TLS certificates (pitstopd's and its clients') "
                 "rather than for driver signing");
  }

  int Run(const CommandContext& c) override {
    absl::Status s = InitCodeSigningCa(
        dir_, "Pitstop", tls_ ? "TLS root" : "driver signing root");
    if (!s.ok()) return Error(s.message());
    c.output.out() << "created " << dir_ << "/root.pem\n";
    return 0;
  }

 private:
  std::string dir_;
  bool tls_ = false;
};

class CaIssueCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("DIR", dir_, "the CA's directory")->required();
    cmd.add_option("NAME", name_,
                   "the certificate's CN: a vendor's name (code-signing), a "
                   "client's identity (`cert NAME` in pitstopd.yaml roles), "
                   "or the daemon's")
        ->required();
    cmd.add_option("--for", purpose_,
                   "code-signing (a vendor's), server (pitstopd's TLS) or "
                   "client (a TLS client's identity)")
        ->check(CLI::IsMember({"code-signing", "server", "client"}));
    cmd.add_option("--dns", tls_.dns_names,
                   "server: a host name clients reach pitstopd by");
    cmd.add_option("--ip", tls_.ip_addresses,
                   "server: an address clients reach pitstopd at");
    cmd.add_option("--days", days_, "TLS: days of validity (default 397)")
        ->check(CLI::PositiveNumber);
  }

  int Run(const CommandContext& c) override {
    absl::Status s;
    if (purpose_ == "code-signing") {
      if (!tls_.dns_names.empty() || !tls_.ip_addresses.empty()) {
        return Error("--dns and --ip are for --for server");
      }
      s = IssueCodeSigningCertificate(dir_, name_);
    } else {
      tls_.server = purpose_ == "server";
      if (!tls_.server &&
          (!tls_.dns_names.empty() || !tls_.ip_addresses.empty())) {
        return Error("--dns and --ip are for --for server");
      }
      tls_.valid_for = absl::Hours(24 * days_);
      s = IssueTlsCertificate(dir_, name_, tls_);
    }
    if (!s.ok()) return Error(s.message());
    c.output.out() << "issued " << dir_ << "/" << name_ << ".pem and .key\n";
    return 0;
  }

 private:
  std::string dir_;
  std::string name_;
  std::string purpose_ = "code-signing";
  TlsCertificateOptions tls_;
  int days_ = 397;
};

}  // namespace

std::vector<CommandSpec> CaCommands() {
  return {
      {"", "ca", "a local certificate authority, for driver signing or for TLS",
       TakesOutput::kNo, nullptr},
      {"ca", "init", "create a root CA in DIR", TakesOutput::kNo,
       Make<CaInitCommand>()},
      {"ca", "issue",
       "issue a certificate from the CA in DIR: a vendor's code-signing "
       "certificate, or a TLS server or client certificate",
       TakesOutput::kNo, Make<CaIssueCommand>()},
  };
}

}  // namespace pitstop
