// pitstopd on TCP with mutual TLS (docs/security.md, "TLS"): a client
// certificate is the caller's identity and maps to a role; a certificate
// from another CA, no certificate and plaintext are refused at the
// handshake; TLS mistakes in the configuration stop the daemon at start.
// The certificates come from `pitstop ca`; the clients are the pitstop CLI
// and pitstop-load, as an operator and a benchmark would run them.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

void Ca(std::vector<std::string> args) {
  args.insert(args.begin(), {PITSTOP_CLI_PATH, "ca"});
  const CommandResult r = RunCommand(args);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

// <dir>/ca: the daemon's certificate (127.0.0.1) and three clients';
// <dir>/other: another CA with a client named like one of them.
void MakeCertificates(const std::string& dir) {
  const std::string ca = dir + "/ca", other = dir + "/other";
  Ca({"init", ca, "--tls"});
  Ca({"issue", ca, "daemon", "--for", "server", "--ip", "127.0.0.1"});
  for (const char* name : {"admin-tool", "cloudstack", "dashboard"}) {
    Ca({"issue", ca, name, "--for", "client"});
  }
  Ca({"init", other, "--tls"});
  Ca({"issue", other, "cloudstack", "--for", "client"});
}

std::string TlsKeys(const std::string& dir) {
  return absl::StrCat("tls_cert: ", dir, "/ca/daemon.pem\n", "tls_key: ", dir,
                      "/ca/daemon.key\n", "tls_client_ca: ", dir,
                      "/ca/root.pem\n");
}

ClientTls Client(const std::string& dir, const std::string& ca_dir,
                 const std::string& name) {
  ClientTls tls;
  tls.ca = dir + "/ca/root.pem";
  tls.cert = absl::StrCat(dir, "/", ca_dir, "/", name, ".pem");
  tls.key = absl::StrCat(dir, "/", ca_dir, "/", name, ".key");
  return tls;
}

// The recorder on 127.0.0.1 with TLS; the fixture's own client is
// admin-tool.
struct TlsDaemon {
  TlsDaemon() : dir(MakeTempDir("pitstop-tls")), reaper(dir) {
    MakeCertificates(dir);
    DaemonSpec spec = RecorderIn(dir);
    spec.listen = "127.0.0.1:0";
    spec.client_tls = Client(dir, "ca", "admin-tool");
    spec.config_yaml = TlsKeys(dir) +
                       "roles:\n"
                       "  admin: [cert admin-tool]\n"
                       "  operator: [cert cloudstack]\n"
                       "  viewer: [cert dashboard]\n"
                       "callers:\n"
                       "  recorder: [cert cloudstack]\n";
    daemon = std::make_unique<Daemon>(spec);
  }
  ~TlsDaemon() {
    daemon.reset();
    fs::remove_all(dir);
  }
  // The CLI with `tls`.
  CommandResult Cli(const ClientTls& tls, std::vector<std::string> args) {
    std::vector<std::string> argv = {PITSTOP_CLI_PATH, "--address",
                                     daemon->address(), "--timeout", "10"};
    if (!tls.ca.empty()) argv.insert(argv.end(), {"--tls-ca", tls.ca});
    if (!tls.cert.empty()) {
      argv.insert(argv.end(), {"--tls-cert", tls.cert, "--tls-key", tls.key});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  // pitstop-load for a second of routed calls to the recorder.
  CommandResult Load(const ClientTls& tls) {
    return RunCommand({PITSTOP_LOAD_PATH, "--address", daemon->address(),
                       "--driver", "recorder", "--callers", "2", "--seconds",
                       "1", "--tls-ca", tls.ca, "--tls-cert", tls.cert,
                       "--tls-key", tls.key});
  }

  std::string dir;
  KeeperReaper reaper;
  std::unique_ptr<Daemon> daemon;
};

TEST_CASE(
    "over TLS a client certificate is the identity: its role is enforced and "
    "a refusal names the certificate and the role it needs",
    "[integration][tls]") {
  TlsDaemon t;
  const ClientTls cloudstack = Client(t.dir, "ca", "cloudstack");
  const ClientTls dashboard = Client(t.dir, "ca", "dashboard");

  const CommandResult listed = t.daemon->Cli({"drivers"});
  INFO(listed.out << listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(absl::StrContains(listed.out, "recorder"));

  // The viewer reads and is refused a stop.
  CHECK(t.Cli(dashboard, {"describe", "recorder"}).exit_code == 0);
  const CommandResult viewer_stop = t.Cli(dashboard, {"stop", "recorder"});
  INFO(viewer_stop.err);
  CHECK(viewer_stop.exit_code != 0);
  CHECK(absl::StrContains(viewer_stop.err, "PERMISSION_DENIED"));
  CHECK(absl::StrContains(viewer_stop.err, "certificate CN=dashboard"));
  CHECK(absl::StrContains(viewer_stop.err, "needs the operator role"));

  // The operator routes calls (C++ bench tool over TLS), and is refused
  // a remove, which needs admin.
  const CommandResult load = t.Load(cloudstack);
  INFO(load.out << load.err);
  CHECK(load.exit_code == 0);
  CHECK(absl::StrContains(load.out, ", 0 failed"));
  const CommandResult remove = t.Cli(cloudstack, {"remove", "recorder"});
  INFO(remove.err);
  CHECK(remove.exit_code != 0);
  CHECK(absl::StrContains(remove.err, "certificate CN=cloudstack"));
  CHECK(absl::StrContains(remove.err, "needs the admin role and has operator"));

  // The viewer is not among the recorder's callers.
  const CommandResult viewer_load = t.Load(dashboard);
  INFO(viewer_load.out << viewer_load.err);
  CHECK(viewer_load.exit_code != 0);
  CHECK(absl::StrContains(viewer_load.out, "CN=dashboard"));

  // The operator stops it; the audit trail names its certificate.
  const CommandResult stop = t.Cli(cloudstack, {"stop", "recorder"});
  INFO(stop.out << stop.err);
  CHECK(stop.exit_code == 0);
  const CommandResult audit = t.daemon->Cli({"audit", "--output", "json"});
  INFO(audit.out << audit.err);
  CHECK(absl::StrContains(audit.out, "subject=CN=cloudstack"));
}

TEST_CASE(
    "a certificate from another CA, no certificate and plaintext are refused "
    "at the TLS handshake, logged, and leave the daemon serving",
    "[integration][tls]") {
  TlsDaemon t;
  ClientTls no_certificate;
  no_certificate.ca = t.dir + "/ca/root.pem";
  for (const ClientTls& tls :
       {Client(t.dir, "other", "cloudstack"), no_certificate, ClientTls{}}) {
    const CommandResult r = t.Cli(tls, {"drivers"});
    INFO(tls.cert << ": " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.err, "UNAVAILABLE"));
  }
  CHECK(t.daemon->AwaitLog("TLS handshake failed", absl::Seconds(10)));
  CHECK(t.daemon->AwaitLog("certificate verify failed", absl::Seconds(10)));
  CHECK(t.daemon->Cli({"drivers"}).exit_code == 0);
}

// pitstopd run once with `yaml`; what it printed and its exit code.
CommandResult StartWith(const std::string& dir, const std::string& yaml) {
  const std::string config = dir + "/pitstopd.yaml";
  std::ofstream(config) << yaml;
  return RunCommand({PITSTOPD_PATH, "--config", config, "--state-dir",
                     dir + "/state", "--drivers-dir",
                     std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-1",
                     "--sandbox", "best-effort"});
}

TEST_CASE(
    "TLS mistakes in the configuration stop pitstopd at start, naming the key "
    "or file",
    "[integration][tls]") {
  const std::string dir = MakeTempDir("pitstop-tls-config");
  MakeCertificates(dir);
  const std::string ca = dir + "/ca";
  struct Case {
    std::string yaml;
    std::string says;
  };
  const std::vector<Case> cases = {
      {absl::StrCat("listen: unix:", dir, "/s.sock\n", TlsKeys(dir)),
       "TLS is for TCP"},
      {absl::StrCat("listen: 127.0.0.1:0\ntls_cert: ", ca, "/daemon.pem\n"),
       "go together"},
      {absl::StrCat("listen: 127.0.0.1:0\ntls_cert: ", ca,
                    "/daemon.pem\ntls_key: ", ca, "/dashboard.key\n",
                    "tls_client_ca: ", ca, "/root.pem\n"),
       "does not match the certificate"},
      {absl::StrCat("listen: 127.0.0.1:0\ntls_cert: ", ca,
                    "/missing.pem\ntls_key: ", ca, "/daemon.key\n",
                    "tls_client_ca: ", ca, "/root.pem\n"),
       "tls_cert " + ca + "/missing.pem"},
  };
  for (const Case& c : cases) {
    const CommandResult r = StartWith(dir, c.yaml);
    INFO(c.yaml << "\n" << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.out + r.err, c.says));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
