// Who may do what (docs/security.md, "Roles"): the kernel's word on a Unix
// socket's peer, roles from the configuration, deny by default, and the
// socket's own mode. The unprivileged user is `nobody` (uid 65534), through
// setpriv(1), running a copy of the CLI it can reach.

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

constexpr int kNobody = 65534;  // and its group, nogroup

// A daemon on the recorder driver in a directory `nobody` may traverse,
// its socket in group nogroup, with `yaml` added to the configuration.
struct Setup {
  explicit Setup(const std::string& yaml)
      : dir(MakeTempDir("pitstop-access")), reaper(dir) {
    ::chmod(dir.c_str(), 0711);
    cli = dir + "/pitstop";
    fs::copy_file(PITSTOP_CLI_PATH, cli);
    ::chmod(cli.c_str(), 0755);
    DaemonSpec spec = RecorderIn(dir);
    spec.config_yaml = "socket_group: nogroup\n" + yaml;
    daemon = std::make_unique<Daemon>(spec);
  }
  ~Setup() {
    daemon.reset();
    fs::remove_all(dir);
  }
  // The CLI as nobody:nogroup, no other groups.
  CommandResult AsNobody(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/setpriv",
                                     "--reuid=65534",
                                     "--regid=65534",
                                     "--clear-groups",
                                     cli,
                                     "--address",
                                     daemon->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  CommandResult AsRoot(std::vector<std::string> args) {
    std::vector<std::string> argv = {cli, "--address", daemon->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  std::string dir;
  KeeperReaper reaper;
  std::string cli;
  std::unique_ptr<Daemon> daemon;
};

bool RootOnly() {
  if (::geteuid() == 0) return true;
  WARN("not run: acting as another user needs root");
  return false;
}

TEST_CASE(
    "whatever the umask, the Unix socket is 0660 with the configured group "
    "and nothing else pitstopd writes is open to other users",
    "[integration][access]") {
  if (!RootOnly()) return;
  const mode_t old = ::umask(0);
  Setup s("");
  ::umask(old);
  auto mode = [](const std::string& path) {
    struct stat st {};
    INFO(path);
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  struct stat st;
  REQUIRE(::stat((s.dir + "/pitstopd.sock").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  CHECK(st.st_gid == static_cast<gid_t>(kNobody));
  const std::string state = s.dir + "/state";
  CHECK(mode(state) == 0711);
  CHECK(mode(state + "/packages") == 0711);
  CHECK(mode(state + "/packages/recorder") == 0711);
  CHECK(mode(state + "/data") == 0711);
  CHECK(mode(state + "/data/recorder") == 0700);
  CHECK(mode(state + "/pitstopd.db") == 0600);
  CHECK(mode(state + "/run/recorder") == 0711);
  CHECK(mode(state + "/keepers") == 0700);
  // The package tree the driver reads: it runs (READY) as its own uid.
  const std::string package = state + "/packages/recorder/1.0.0";
  for (const auto& entry : fs::recursive_directory_iterator(package)) {
    const std::string path = entry.path().string();
    INFO(path);
    if (entry.is_directory()) {
      CHECK(mode(path) == 0755);
    } else if (absl::StrContains(path, "/bin/")) {
      CHECK(mode(path) == 0755);
    } else if (!entry.is_symlink()) {
      CHECK((mode(path) & 0022) == 0);
    }
  }
  CHECK(s.daemon->GetDriver("recorder").state() ==
        pitstop::supervisor::v1::DRIVER_STATE_READY);
}

TEST_CASE(
    "a local user without a role is refused every call with "
    "PERMISSION_DENIED naming its uid and the role it would need",
    "[integration][access]") {
  if (!RootOnly()) return;
  Setup s("");
  const CommandResult list = s.AsNobody({"drivers"});
  INFO(list.out << list.err);
  CHECK(list.exit_code != 0);
  CHECK(absl::StrContains(list.err, "uid 65534"));
  CHECK(
      absl::StrContains(list.err, "it needs the viewer role and has no role"));

  const CommandResult stop = s.AsNobody({"stop", "recorder"});
  INFO(stop.out << stop.err);
  CHECK(stop.exit_code != 0);
  CHECK(absl::StrContains(stop.err, "needs the operator role"));

  // Root is admin by default, and the driver was never stopped.
  const CommandResult root = s.AsRoot({"drivers"});
  INFO(root.out << root.err);
  CHECK(root.exit_code == 0);
  CHECK(s.daemon->GetDriver("recorder").state() ==
        pitstop::supervisor::v1::DRIVER_STATE_READY);
}

TEST_CASE(
    "a viewer may read but not act; an operator may act but not install; a "
    "caller may route calls",
    "[integration][access]") {
  if (!RootOnly()) return;
  SECTION("viewer") {
    Setup s("roles: {viewer: [uid 65534]}\n");
    const CommandResult list = s.AsNobody({"drivers"});
    INFO(list.out << list.err);
    CHECK(list.exit_code == 0);
    CHECK(absl::StrContains(list.out, "recorder"));
    const CommandResult stop = s.AsNobody({"stop", "recorder"});
    CHECK(stop.exit_code != 0);
    CHECK(
        absl::StrContains(stop.err, "needs the operator role and has viewer"));
    // The refusal is on the audit trail (written behind the router's
    // loop: waited for).
    CommandResult audit;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    do {
      audit = s.AsRoot({"audit"});
    } while (!absl::StrContains(audit.out, "StopDriver") &&
             absl::Now() < deadline);
    INFO(audit.out << audit.err);
    CHECK(absl::StrContains(audit.out, "uid=65534"));
    CHECK(absl::StrContains(audit.out, "StopDriver"));
    CHECK(absl::StrContains(audit.out, "code 7: uid 65534"));
    // Reading a driver is not calling it.
    const CommandResult call = s.AsNobody(
        {"call", "recorder", "CreateVolume", "--resource", "volume/v1"});
    INFO(call.out << call.err);
    CHECK(call.exit_code != 0);
    CHECK(absl::StrContains(call.err, "uid 65534 (pid "));
    CHECK(absl::StrContains(call.err,
                            "may not route calls to driver 'recorder'"));
    CHECK(s.daemon->GetDriver("recorder").state() ==
          pitstop::supervisor::v1::DRIVER_STATE_READY);
  }
  SECTION("operator, by group") {
    Setup s("roles: {operator: [group nogroup]}\n");
    const CommandResult restart = s.AsNobody({"restart", "recorder"});
    INFO(restart.out << restart.err);
    CHECK(restart.exit_code == 0);
    const CommandResult remove = s.AsNobody({"remove", "recorder"});
    CHECK(remove.exit_code != 0);
    CHECK(
        absl::StrContains(remove.err, "needs the admin role and has operator"));
  }
  SECTION("caller of one driver") {
    Setup s(
        "roles: {viewer: [uid 65534]}\n"
        "callers: {recorder: [uid 65534]}\n");
    const CommandResult call = s.AsNobody(
        {"call", "recorder", "CreateVolume", "--resource", "volume/v1"});
    INFO(call.out << call.err);
    CHECK(call.exit_code == 0);
  }
}

TEST_CASE(
    "every admin action that changes something is on the audit trail and in "
    "the events with its actor; audit verify passes on an untouched trail and "
    "names the "
    "first bad record after one is edited in the database",
    "[integration][access]") {
  const std::string dir = MakeTempDir("pitstop-audit");
  KeeperReaper reaper(dir);
  Daemon d(RecorderIn(dir));
  REQUIRE(d.Cli({"stop", "recorder"}).exit_code == 0);
  REQUIRE(d.Cli({"start", "recorder"}).exit_code == 0);
  REQUIRE(d.Cli({"drivers"}).exit_code == 0);  // a read: not on the trail
  // The events name who asked, too.
  const CommandResult events = d.Cli({"events", "--driver", "recorder"});
  INFO(events.out);
  CHECK(absl::StrContains(events.out, "stop requested by uid=0 gid=0 pid="));
  CHECK(absl::StrContains(events.out, "start requested by uid=0 gid=0 pid="));

  const CommandResult list = d.Cli({"audit", "--output", "json"});
  INFO(list.out << list.err);
  REQUIRE(list.exit_code == 0);
  const std::vector<std::string> lines =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(list.out), '\n');
  REQUIRE(lines.size() == 2);
  CHECK(absl::StrContains(lines[0], "\"action\":\"StopDriver\""));
  CHECK(absl::StrContains(lines[0], "\"actor\":\"uid=0 gid=0 pid="));
  CHECK(absl::StrContains(lines[0], "recorder"));
  CHECK(absl::StrContains(lines[1], "\"action\":\"StartDriver\""));

  const CommandResult recent = d.Cli({"audit", "--since", "1h"});
  INFO(recent.out << recent.err);
  CHECK(absl::StrContains(recent.out, "StartDriver"));
  const CommandResult future =
      d.Cli({"audit", "--since", "2100-01-01T00:00:00Z"});
  CHECK(future.exit_code == 0);
  CHECK(future.out.empty());
  const CommandResult bad = d.Cli({"audit", "--since", "yesterday"});
  CHECK(bad.exit_code != 0);
  CHECK(absl::StrContains(bad.err, "--since 'yesterday'"));

  const CommandResult intact = d.Cli({"audit", "verify"});
  INFO(intact.out << intact.err);
  CHECK(intact.exit_code == 0);
  CHECK(absl::StrContains(intact.out, "audit trail intact: 2 records"));

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir + "/state/pitstopd.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db,
                       "UPDATE audit SET args = '{\"name\":\"other\"}' "
                       "WHERE seq = 1",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  const CommandResult broken = d.Cli({"audit", "verify"});
  INFO(broken.out << broken.err);
  CHECK(broken.exit_code != 0);
  CHECK(absl::StrContains(broken.err, "audit trail broken at record 1"));
  CHECK(absl::StrContains(broken.err, "edited"));
  fs::remove_all(dir);
}

TEST_CASE(
    "installs, upgrades, rollbacks and removes name who asked in the events, "
    "and the events persist across a restart of the daemon",
    "[integration][access]") {
  const std::string dir = MakeTempDir("pitstop-events");
  KeeperReaper reaper(dir);
  const std::string v2 =
      std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-2/recorder-2.car";
  // A drivers directory of its own: an install writes there, and the shared
  // test-cars/recorder-1 must keep one version for the tests beside it.
  DaemonSpec spec = RecorderIn(dir);
  spec.cars_dir = dir + "/cars";
  fs::create_directories(spec.cars_dir);
  fs::copy_file(
      std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-1/recorder-1.car",
      spec.cars_dir + "/recorder-1.car");
  {
    Daemon d(spec);
    for (std::vector<std::string> args :
         {std::vector<std::string>{"install", v2},
          {"upgrade", "recorder", "--to", "2.0.0", "--probation", "100ms"},
          {"rollback", "recorder", "--probation", "100ms"},
          {"remove", "recorder", "--version", "2.0.0"}}) {
      const CommandResult r = d.Cli(args);
      INFO(args[0] << ": " << r.out << r.err);
      REQUIRE(r.exit_code == 0);
    }
  }  // SIGTERM
  Daemon d(spec);
  const CommandResult events = d.Cli({"events", "--driver", "recorder"});
  INFO(events.out << events.err);
  for (const char* said : {"install of 2.0.0 requested by uid=0 gid=0 pid=",
                           "upgrade to 2.0.0 requested by uid=0 gid=0 pid=",
                           "rollback requested by uid=0 gid=0 pid=",
                           "remove of 2.0.0 requested by uid=0 gid=0 pid="}) {
    CHECK(absl::StrContains(events.out, said));
  }
  // The events before the restart come first, then this daemon's, numbered
  // on.
  const size_t removed = events.out.find("remove of 2.0.0 requested");
  const size_t last = events.out.rfind("READY");
  CHECK(removed != std::string::npos);
  CHECK(last > removed);
  fs::remove_all(dir);
}

TEST_CASE("a TCP listener without TLS does not start unless insecure_tcp: true",
          "[integration][access]") {
  const std::string dir = MakeTempDir("pitstop-access");
  const CommandResult r = RunCommand(
      {PITSTOPD_PATH, "--listen", "127.0.0.1:0", "--state-dir", dir + "/state",
       "--drivers-dir", std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-1",
       "--sandbox", "best-effort"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.out + r.err, "TCP without TLS"));
  CHECK(absl::StrContains(r.out + r.err, "insecure_tcp: true"));
  CHECK(!fs::exists(dir + "/state/pitstopd.db"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
