// Driver repositories end to end: a real HTTP server (Python's http.server,
// started on a free loopback port), the real daemon and the real CLI.

#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/code_signing_ca.h"
#include "supervisor/repo/repository_tools.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Spit(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Python's http.server over `root` on a free loopback port (repo_server.py,
// which also serves the hostile corners). Killed on destruction.
class HttpServer {
 public:
  explicit HttpServer(const fs::path& root) {
    const std::string port_file = (root.parent_path() / "http-port").string();
    fs::remove(port_file);
    auto pid = launcher_.Launch(
        LaunchSpec{"/usr/bin/python3",
                   {PITSTOP_REPO_SERVER, "--dir", root.string(), "--port-file",
                    port_file},
                   {"PATH=/usr/bin:/bin"},
                   "/",
                   {}},
        [](OutputStream, absl::string_view line) {
          // The server's errors show in the test's output.
          fprintf(stderr, "repo_server: %.*s\n", static_cast<int>(line.size()),
                  line.data());
        },
        [this](const ExitInfo&) {
          absl::MutexLock lock(&mu_);
          exited_ = true;
        });
    REQUIRE(pid.ok());
    pid_ = *pid;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!fs::exists(port_file)) {
      {
        absl::MutexLock lock(&mu_);
        REQUIRE(!exited_);
      }
      REQUIRE(absl::Now() < deadline);
      absl::SleepFor(absl::Milliseconds(10));
    }
    url_ = absl::StrCat("http://127.0.0.1:", Slurp(port_file));
  }
  ~HttpServer() { Stop(); }
  void Stop() {
    (void)launcher_.Signal(pid_, SIGKILL);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&exited_));
  }
  const std::string& url() const { return url_; }

 private:
  ChildProcessManager launcher_;
  pid_t pid_ = 0;
  std::string url_;
  absl::Mutex mu_;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
};

// The project CA, a repository key, signed sample CARs (flashpool 1.0.0 and
// 1.1.0, nvpnet, iscsi-base), a trust directory, and www/ for the server.
struct World {
  World() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-repos-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    ca = dir / "ca";
    REQUIRE(InitCodeSigningCa(ca.string()).ok());
    REQUIRE(IssueCodeSigningCertificate(ca.string(), "samples").ok());
    REQUIRE(IssueCodeSigningCertificate(ca.string(), "repo").ok());
    fs::create_directories(dir / "trust");
    fs::copy_file(ca / "root.pem", dir / "trust" / "root.pem");
    fs::create_directories(dir / "cars");
    for (const char* name : {"iscsi-base", "flashpool", "nvpnet"}) {
      Sign(std::string(PITSTOP_CARS_DIR) + "/" + name + ".car",
           dir / "cars" / (std::string(name) + "-1.0.0.car"));
    }
    // flashpool 1.1.0: the same driver with another version.
    auto files = ReadCarFiles((dir / "cars" / "flashpool-1.0.0.car").string());
    REQUIRE(files.ok());
    std::vector<CarFile> next;
    for (CarFile& f : *files) {
      if (f.name == "META-INF/driver.yaml") {
        REQUIRE(f.content.find("version: 1.0.0") != std::string::npos);
        f.content = absl::StrReplaceAll(f.content,
                                        {{"version: 1.0.0", "version: 1.1.0"}});
      }
      next.push_back(f);
    }
    REQUIRE(WriteCarFiles(next, (dir / "flashpool-next.car").string()).ok());
    Sign(dir / "flashpool-next.car", dir / "cars" / "flashpool-1.1.0.car");
    // The daemon starts with iscsi-base (flashpool requires it).
    fs::create_directories(dir / "drivers");
    fs::copy_file(dir / "cars" / "iscsi-base-1.0.0.car",
                  dir / "drivers" / "iscsi-base.car");
    fs::create_directories(dir / "www");
  }
  ~World() { fs::remove_all(dir); }

  // The daemon also starts with flashpool 1.0.0.
  void RunFlashpool() {
    fs::copy_file(dir / "cars" / "flashpool-1.0.0.car",
                  dir / "drivers" / "flashpool-1.0.0.car");
  }

  void Sign(const fs::path& in, const fs::path& out) {
    REQUIRE(SignCar(in.string(), out.string(), (ca / "samples.key").string(),
                    (ca / "samples.pem").string(), "")
                .ok());
  }

  // www/<name>/ with the given CARs of cars/, and its index.
  fs::path Repo(const std::string& name, std::vector<std::string> cars) {
    const fs::path repo = dir / "www" / name;
    fs::create_directories(repo);
    for (const std::string& car : cars) {
      fs::copy_file(dir / "cars" / car, repo / car,
                    fs::copy_options::overwrite_existing);
    }
    Build(repo);
    return repo;
  }

  void Build(const fs::path& repo, absl::Time now = absl::Now(),
             const std::string& signer = "repo", const fs::path& ca_dir = {}) {
    BuildOptions o;
    const fs::path c = ca_dir.empty() ? ca : ca_dir;
    o.key_path = (c / (signer + ".key")).string();
    o.cert_path = (c / (signer + ".pem")).string();
    o.valid_for = absl::Hours(1);
    auto built = BuildRepository(repo.string(), o, now);
    INFO(built.status().message());
    REQUIRE(built.ok());
  }

  DaemonSpec Spec(const std::string& repositories_yaml = "") const {
    DaemonSpec spec;
    spec.cars_dir = (dir / "drivers").string();
    spec.await_ready = "iscsi-base";
    spec.config_yaml = absl::StrCat(
        "require_signed: true\ntrust_dir: ", (dir / "trust").string(),
        "\nrepo_stall_timeout: 2s\nrepo_fetch_timeout: 20s\n"
        "repo_max_index_bytes: 1048576\n",
        repositories_yaml);
    return spec;
  }

  fs::path dir, ca;
};

struct Cli {
  Daemon& daemon;
  CommandResult operator()(std::vector<std::string> args) {
    args.insert(args.begin(),
                {PITSTOP_CLI_PATH, "--address", daemon.address()});
    return RunCommand(args, absl::Seconds(60));
  }
};

TEST_CASE("drivers install from an HTTP repository and updates are reported",
          "[integration][repo]") {
  World world;
  world.Repo("main", {"flashpool-1.0.0.car", "nvpnet-1.0.0.car"});
  HttpServer server(world.dir / "www");
  const std::string url = server.url() + "/main";
  DaemonSpec spec = world.Spec("repositories:\n  main: " + url + "\n");
  spec.config_yaml += "metrics_listen: 127.0.0.1:0\n";
  Daemon daemon(spec);
  Cli cli{daemon};

  CommandResult verified =
      RunCommand({PITSTOP_CLI_PATH, "repo", "verify", url, "--trust",
                  (world.dir / "trust").string()});
  INFO(verified.out << verified.err);
  REQUIRE(verified.exit_code == 0);
  REQUIRE(verified.out.find("2 CARs verified") != std::string::npos);

  CommandResult installed = cli({"install", "flashpool"});
  INFO(installed.out << installed.err << daemon.Log());
  REQUIRE(installed.exit_code == 0);
  REQUIRE(installed.out.find("installed flashpool 1.0.0 from a repository "
                             "(signed by CN=samples") != std::string::npos);
  REQUIRE(installed.out.find("READY") != std::string::npos);
  REQUIRE(Listing(world.dir / "drivers") ==
          std::vector<std::string>{"flashpool-1.0.0.car", "iscsi-base.car"});
  REQUIRE(Slurp(world.dir / "drivers" / "flashpool-1.0.0.car") ==
          Slurp(world.dir / "cars" / "flashpool-1.0.0.car"));

  CommandResult none = cli({"updates"});
  REQUIRE(none.exit_code == 0);
  REQUIRE(none.out.find("up to date") != std::string::npos);

  // The publisher adds 1.1.0.
  fs::copy_file(world.dir / "cars" / "flashpool-1.1.0.car",
                world.dir / "www" / "main" / "flashpool-1.1.0.car");
  world.Build(world.dir / "www" / "main");
  CommandResult updates = cli({"updates"});
  INFO(updates.out << updates.err);
  REQUIRE(updates.exit_code == 0);
  REQUIRE(updates.out.find("flashpool  1.0.0      1.1.0      main") !=
          std::string::npos);
  // The same in the metrics, with the index's expiry.
  const std::string page = HttpGet(MetricsAddress(daemon), "/metrics");
  INFO(page);
  CHECK(page.find("pitstop_updates_available{driver=\"flashpool\","
                  "installed=\"1.0.0\",available=\"1.1.0\",repository="
                  "\"main\"} 1\n") != std::string::npos);
  CHECK(page.find("pitstop_repository_ok{repository=\"main\"} 1\n") !=
        std::string::npos);
  const size_t expiry = page.find(
      "pitstop_repository_index_expiry_timestamp_seconds{repository="
      "\"main\"} ");
  REQUIRE(expiry != std::string::npos);
  double expires = 0;
  const size_t value = page.find("} ", expiry) + 2;
  REQUIRE(absl::SimpleAtod(page.substr(value, page.find('\n', value) - value),
                           &expires));
  CHECK(expires > absl::ToUnixSeconds(absl::Now()));

  // 1.1.0 goes beside the running 1.0.0, which keeps serving...
  const sv1::Driver running = daemon.GetDriver("flashpool");
  CommandResult beside = cli({"install", "flashpool@1.1.0"});
  INFO(beside.out << beside.err);
  REQUIRE(beside.exit_code == 0);
  REQUIRE(beside.out.find("beside the active 1.0.0") != std::string::npos);
  sv1::Driver d = daemon.GetDriver("flashpool");
  REQUIRE(d.version() == "1.0.0");
  REQUIRE(d.pid() == running.pid());
  REQUIRE(d.installed_versions_size() == 2);
  // ...until the operator upgrades to it.
  CommandResult upgraded =
      cli({"upgrade", "flashpool", "--to", "1.1.0", "--probation", "500ms"});
  INFO(upgraded.out << upgraded.err);
  REQUIRE(upgraded.exit_code == 0);
  REQUIRE(daemon.AwaitReady("flashpool", running.pid()).version() == "1.1.0");
  REQUIRE(cli({"updates"}).out.find("up to date") != std::string::npos);

  // Back to 1.0.0, 1.1.0 removed; an upgrade to a version that is not
  // installed fetches it from the repository.
  CommandResult back = cli({"rollback", "flashpool", "--probation", "200ms"});
  INFO(back.out << back.err);
  REQUIRE(back.exit_code == 0);
  REQUIRE(daemon.GetDriver("flashpool").version() == "1.0.0");
  REQUIRE(cli({"remove", "flashpool", "--version", "1.1.0"}).exit_code == 0);
  REQUIRE(daemon.GetDriver("flashpool").installed_versions_size() == 1);
  CommandResult fetched =
      cli({"upgrade", "flashpool", "--to", "1.1.0", "--probation", "200ms"});
  INFO(fetched.out << fetched.err);
  REQUIRE(fetched.exit_code == 0);
  REQUIRE(daemon.GetDriver("flashpool").version() == "1.1.0");
  REQUIRE(daemon.GetDriver("flashpool").installed_versions_size() == 2);
  CommandResult missing = cli({"upgrade", "flashpool", "--to", "9.9.9"});
  REQUIRE(missing.exit_code != 0);
  REQUIRE(missing.err.find("NOT_FOUND: driver flashpool has no installed "
                           "version 9.9.9") != std::string::npos);

  // Also an event, and through the admin RPC.
  grpc::ClientContext ctx;
  sv1::WatchEventsRequest watch;
  watch.set_driver("flashpool");
  auto reader = daemon.admin().WatchEvents(&ctx, watch);
  sv1::Event e;
  bool announced = false;
  while (reader->Read(&e)) {
    announced = announced ||
                (e.kind() == "update-available" &&
                 e.reason().find("flashpool 1.1.0 is available "
                                 "from repository main") != std::string::npos);
  }
  REQUIRE(announced);

  CommandResult list = cli({"repo", "list", "--cars"});
  INFO(list.out);
  REQUIRE(list.out.find("main") != std::string::npos);
  REQUIRE(list.out.find("config") != std::string::npos);
  REQUIRE(list.out.find("1.1.0") != std::string::npos);
  // A configured repository is not removed by the CLI.
  CommandResult remove = cli({"repo", "remove", "main"});
  REQUIRE(remove.exit_code != 0);
  REQUIRE(remove.err.find("configuration file") != std::string::npos);
}

// The driver's state that a refused install must leave exactly as it was.
struct Running {
  std::string version;
  int pid = 0;
  std::vector<std::string> installed_versions;
  bool operator==(const Running& o) const {
    return version == o.version && pid == o.pid &&
           installed_versions == o.installed_versions;
  }
};

Running RunningOf(Daemon& daemon, const std::string& name) {
  const sv1::Driver d = daemon.GetDriver(name);
  REQUIRE(d.state() == sv1::DRIVER_STATE_READY);
  return Running{
      d.version(),
      d.pid(),
      {d.installed_versions().begin(), d.installed_versions().end()}};
}

// Installs flashpool 1.1.0 from the daemon's repositories and checks that it
// was refused with `expected` in the error, that nothing was installed, and
// that the running flashpool 1.0.0 (and iscsi-base) are untouched.
void ExpectRefused(Daemon& daemon, World& world, const std::string& expected) {
  const Running flashpool = RunningOf(daemon, "flashpool");
  const Running iscsi = RunningOf(daemon, "iscsi-base");
  REQUIRE(flashpool.version == "1.0.0");
  REQUIRE(flashpool.installed_versions == std::vector<std::string>{"1.0.0"});
  const auto drivers = Listing(world.dir / "drivers");
  const auto packages =
      Listing(fs::path(daemon.dir()) / "state" / "packages" / "flashpool");
  CommandResult r = Cli{daemon}({"install", "flashpool@1.1.0"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.err.find(expected) != std::string::npos);
  REQUIRE(Listing(world.dir / "drivers") == drivers);
  REQUIRE(Listing(fs::path(daemon.dir()) / "state" / "packages" /
                  "flashpool") == packages);
  REQUIRE(RunningOf(daemon, "flashpool") == flashpool);
  REQUIRE(RunningOf(daemon, "iscsi-base") == iscsi);
}

TEST_CASE(
    "tampered, truncated, oversized, endless and stalled downloads install "
    "nothing",
    "[integration][repo]") {
  World world;
  world.RunFlashpool();
  HttpServer server(world.dir / "www");
  Daemon daemon(world.Spec());
  daemon.AwaitReady("flashpool");
  Cli cli{daemon};
  const fs::path car = "flashpool-1.1.0.car";
  const std::string original = Slurp(world.dir / "cars" / car);
  struct Case {
    std::string repo;
    std::string bytes;  // served instead of the CAR ("": unchanged)
    std::string expected;
  };
  std::string tampered = original;
  tampered[tampered.size() / 2] ^= 1;
  for (const Case& c : {
           Case{"tampered", tampered, "refusing the tampered CAR"},
           Case{"truncated", original.substr(0, original.size() - 100),
                "refusing the truncated download"},
           Case{"oversized", original + "trailing", "RESOURCE_EXHAUSTED"},
           Case{"endless-car", "", "RESOURCE_EXHAUSTED"},
           Case{"stall-car", "", "DEADLINE_EXCEEDED"},
       }) {
    INFO(c.repo);
    const fs::path repo = world.Repo(c.repo, {car.string()});
    if (!c.bytes.empty()) Spit(repo / car, c.bytes);
    CommandResult added =
        cli({"repo", "add", c.repo, server.url() + "/" + c.repo});
    INFO(added.out << added.err);
    REQUIRE(added.exit_code == 0);
    const absl::Time start = absl::Now();
    ExpectRefused(daemon, world, c.expected);
    REQUIRE(absl::Now() - start < absl::Seconds(30));
    REQUIRE(cli({"repo", "remove", c.repo}).exit_code == 0);
  }
}

TEST_CASE(
    "an index that is replayed, expired, endless or signed outside the "
    "project is refused",
    "[integration][repo]") {
  World world;
  world.RunFlashpool();
  HttpServer server(world.dir / "www");
  const std::string keep = (world.dir / "keep").string();
  fs::create_directories(keep);
  DaemonSpec spec = world.Spec();
  spec.dir = keep;
  auto daemon = std::make_unique<Daemon>(spec);
  daemon->AwaitReady("flashpool");
  Cli cli{*daemon};

  // Not the project's root.
  REQUIRE(InitCodeSigningCa((world.dir / "other").string()).ok());
  REQUIRE(
      IssueCodeSigningCertificate((world.dir / "other").string(), "evil").ok());
  const fs::path evil = world.Repo("evil", {"flashpool-1.1.0.car"});
  world.Build(evil, absl::Now(), "evil", world.dir / "other");
  CommandResult r = cli({"repo", "add", "evil", server.url() + "/evil"});
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.err.find("PERMISSION_DENIED") != std::string::npos);
  REQUIRE(r.err.find("is not trusted") != std::string::npos);

  // Expired.
  const fs::path stale = world.Repo("stale", {"flashpool-1.1.0.car"});
  world.Build(stale, absl::Now() - absl::Hours(2));
  r = cli({"repo", "add", "stale", server.url() + "/stale"});
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.err.find("expired") != std::string::npos);

  // Endless.
  world.Repo("endless-index", {"flashpool-1.1.0.car"});
  r = cli({"repo", "add", "endless", server.url() + "/endless-index"});
  REQUIRE(r.exit_code != 0);
  REQUIRE(r.err.find("RESOURCE_EXHAUSTED") != std::string::npos);
  ExpectRefused(*daemon, world, "NOT_FOUND");

  // Replayed: version 1 offered flashpool 1.1.0; version 2 withdrew it.
  const fs::path main = world.Repo("main", {"flashpool-1.1.0.car"});
  const std::string v1_index = Slurp(main / "pitstop-index");
  const std::string v1_sig = Slurp(main / "pitstop-index.sig");
  fs::rename(main / "flashpool-1.1.0.car", world.dir / "withdrawn.car");
  world.Build(main);
  r = cli({"repo", "add", "main", server.url() + "/main"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("index version 2") != std::string::npos);
  ExpectRefused(*daemon, world, "NOT_FOUND");
  // The attacker serves version 1 again, with its CAR.
  Spit(main / "pitstop-index", v1_index);
  Spit(main / "pitstop-index.sig", v1_sig);
  fs::rename(world.dir / "withdrawn.car", main / "flashpool-1.1.0.car");
  r = cli({"repo", "list", "--refresh"});
  REQUIRE(r.out.find("older than version 2") != std::string::npos);
  ExpectRefused(*daemon, world, "older than version 2");
  // Also after a restart of the daemon: the version seen is persisted.
  daemon.reset();
  daemon = std::make_unique<Daemon>(spec);
  daemon->AwaitReady("flashpool");
  ExpectRefused(*daemon, world, "older than version 2");
}

TEST_CASE(
    "a mirror made over HTTP serves an air-gapped install from a "
    "directory",
    "[integration][repo]") {
  World world;
  world.Repo("main", {"flashpool-1.0.0.car", "flashpool-1.1.0.car"});
  const fs::path mirror = world.dir / "mirror";
  {
    HttpServer server(world.dir / "www");
    CommandResult r = RunCommand({PITSTOP_CLI_PATH, "repo", "mirror",
                                  server.url() + "/main", mirror.string(),
                                  "--trust", (world.dir / "trust").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.find("2 CARs fetched") != std::string::npos);
    // Resumable: a second run keeps what is there.
    r = RunCommand({PITSTOP_CLI_PATH, "repo", "mirror", server.url() + "/main",
                    mirror.string(), "--trust",
                    (world.dir / "trust").string()});
    REQUIRE(r.out.find("0 CARs fetched, 2 already present") !=
            std::string::npos);
  }  // the network is gone
  for (const char* f : {"pitstop-index", "pitstop-index.sig",
                        "flashpool-1.0.0.car", "flashpool-1.1.0.car"}) {
    REQUIRE(Slurp(mirror / f) == Slurp(world.dir / "www" / "main" / f));
  }
  Daemon daemon(
      world.Spec("repositories:\n  airgap: " + mirror.string() + "\n"));
  CommandResult r = Cli{daemon}({"install", "flashpool@1.0.0"});
  INFO(r.out << r.err << daemon.Log());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("installed flashpool 1.0.0 from a repository") !=
          std::string::npos);
  REQUIRE(daemon.GetDriver("flashpool").signer().find("CN=samples") !=
          std::string::npos);
  r = Cli{daemon}({"updates"});
  REQUIRE(r.out.find("1.1.0") != std::string::npos);
}

}  // namespace
}  // namespace pitstop
