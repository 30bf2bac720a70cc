// The driver sandbox end to end (docs/sandbox.md): the real daemon, real
// drivers in real namespaces. Where the host does not allow the whole
// sandbox (a container), the daemon runs best-effort and the tests check
// that what it reports matches what the host allows; as root on a host that
// allows everything, every protection is asserted for real.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
namespace fs = std::filesystem;

std::string TestCars(const std::string& name) {
  return std::string(PITSTOP_TEST_CARS_DIR) + "/" + name;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The value of "Key:" in /proc/<pid>/status.
std::string StatusField(int pid, const std::string& key) {
  std::istringstream in(ReadText(absl::StrCat("/proc/", pid, "/status")));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, key + ":")) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

std::string Namespace(int pid, const std::string& ns) {
  std::error_code ec;
  return fs::read_symlink(absl::StrCat("/proc/", pid, "/ns/", ns), ec).string();
}

TEST_CASE(
    "a running driver has no privileges, a seccomp filter, its own "
    "namespaces and cgroup limits",
    "[integration][sandbox]") {
  Daemon daemon;
  const sv1::Driver d = daemon.GetDriver("flashpool");
  const int pid = d.pid();
  REQUIRE(pid > 0);
  const sv1::SandboxProtections& sb = d.sandbox();
  INFO(sb.ShortDebugString());
  // Each instance carries its own report; the serving one is the driver's.
  REQUIRE(d.instances_size() == 1);
  CHECK(d.instances(0).pid() == pid);
  CHECK(d.instances(0).sandbox().ShortDebugString() == sb.ShortDebugString());
  // Applied wherever the daemon runs.
  CHECK(StatusField(pid, "NoNewPrivs") == "1");
  CHECK(sb.no_new_privs());
  CHECK(absl::StrContains(ReadText(absl::StrCat("/proc/", pid, "/limits")),
                          "Max open files            256"));
  const HostSandboxSupport& host = TestHostSandbox();
  if (!FullSandboxOnThisHost()) {
    WARN("this host allows only part of the sandbox: " << host.Summary());
    CHECK(sb.mode() == "best-effort");
    CHECK(!sb.gaps().empty());
    CHECK(sb.namespaces().empty() == !host.namespaces);
    CHECK(sb.seccomp() == host.seccomp);
    CHECK(sb.cgroup().empty() ==
          (host.cgroups.version == CgroupVersion::kNone));
    if (host.seccomp) CHECK(StatusField(pid, "Seccomp") == "2");
    return;
  }
  // What the "done when" asks for, read from /proc.
  CHECK(StatusField(pid, "CapEff") == "0000000000000000");
  CHECK(StatusField(pid, "Seccomp") == "2");
  const std::string uid = StatusField(pid, "Uid");
  CHECK(!absl::StartsWith(uid, "0\t"));
  CHECK(absl::StartsWith(uid, absl::StrCat(sb.uid(), "\t")));
  for (const char* ns : {"mnt", "pid", "net", "ipc", "uts"}) {
    INFO(ns);
    CHECK(!Namespace(pid, ns).empty());
    CHECK(Namespace(pid, ns) != Namespace(daemon.pid(), ns));
  }
  // Every limiting hierarchy, not just one: on v1 the child enters the memory
  // and pids groups itself, one write each.
  const std::string cgroups = ReadText(absl::StrCat("/proc/", pid, "/cgroup"));
  if (host.cgroups.version == CgroupVersion::kV1) {
    CHECK(absl::StrContains(cgroups, ":memory:/pitstop/flashpool/"));
    CHECK(absl::StrContains(cgroups, ":pids:/pitstop/flashpool/"));
  } else {
    CHECK(absl::StrContains(cgroups, "/pitstop/flashpool/"));
  }
  // And what the API reports.
  CHECK(sb.mode() == "strict");
  CHECK(std::set<std::string>(sb.namespaces().begin(), sb.namespaces().end()) ==
        std::set<std::string>{"mnt", "pid", "net", "ipc", "uts"});
  CHECK(sb.private_root());
  CHECK(sb.uid() >= 61000);
  CHECK(sb.capabilities_dropped());
  CHECK(sb.seccomp());
  CHECK(absl::StartsWith(sb.cgroup(), "v"));
  CHECK(sb.memory_limit_bytes() == uint64_t{256} << 20);
  CHECK(sb.pids_limit() == 64);
  CHECK(sb.network() == "none");
  CHECK(sb.gaps().empty());
  // Each driver has a uid of its own, which owns its data directory.
  const sv1::Driver other = daemon.GetDriver("iscsi-base");
  CHECK(other.sandbox().uid() != sb.uid());
  struct stat st;
  REQUIRE(::stat((daemon.dir() + "/state/data/flashpool").c_str(), &st) == 0);
  CHECK(static_cast<int64_t>(st.st_uid) == sb.uid());

  CommandResult describe =
      RunCommand({PITSTOP_CLI_PATH, "--address", daemon.address(), "describe",
                  "flashpool"});
  INFO(describe.out << describe.err);
  CHECK(describe.exit_code == 0);
  CHECK(absl::StrContains(describe.out, "Sandbox:      strict"));
  CHECK(absl::StrContains(describe.out, "mnt, pid, ipc, uts, net"));
  CHECK(absl::StrContains(describe.out, "seccomp:      deny-list, kill"));
  CHECK(absl::StrContains(describe.out, "memory 256 MiB, pids 64"));
}

// The supervisor's log lines about one driver.
std::string SupervisorLines(Daemon& daemon, const std::string& driver) {
  std::string out;
  std::istringstream log(daemon.Log());
  for (std::string line; std::getline(log, line);) {
    if (absl::StrContains(line, "source=supervisor driver=" + driver + " ")) {
      absl::StrAppend(&out, line, "\n");
    }
  }
  return out;
}

// A TCP listener on 127.0.0.1 that counts the connections it accepts.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  int Accepted() {
    int n = 0;
    for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
      ::close(c);
      ++n;
    }
    return n;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Calls the neighbour without pause from a few threads until stopped.
class NeighbourLoad {
 public:
  explicit NeighbourLoad(Daemon& daemon) {
    for (int t = 0; t < 2; ++t) {
      threads_.emplace_back([this, &daemon] {
        auto stub = dv1::StorageService::NewStub(daemon.channel());
        while (!stop_.load()) {
          dv1::GetStatsRequest req;
          req.mutable_context()->mutable_resource()->set_type("storage_pool");
          req.mutable_context()->mutable_resource()->set_id("p1");
          dv1::GetStatsResponse resp;
          auto ctx = daemon.Routed("sbx-neighbour");
          grpc::Status s = stub->GetStats(ctx.get(), req, &resp);
          if (s.ok()) {
            ++ok_;
          } else {
            absl::MutexLock lock(&mu_);
            errors_.push_back(s.error_message());
          }
        }
      });
    }
  }
  ~NeighbourLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  int ok() const { return ok_.load(); }
  std::vector<std::string> errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  absl::Mutex mu_;
  std::vector<std::string> errors_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// One escape attempt by the hostile driver: its outcome and detail.
std::pair<std::string, std::string> Attempt(
    Daemon& daemon, const std::string& attempt,
    const std::map<std::string, std::string>& strings = {}, int port = 0) {
  dv1::CreateVolumeRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id(attempt);
  auto& props = *req.mutable_context()->mutable_properties();
  for (const auto& [k, v] : strings) props[k].set_string_value(v);
  if (port != 0) props["port"].set_number_value(std::to_string(port));
  dv1::CreateVolumeResponse resp;
  auto ctx = daemon.Routed("hostile", absl::Seconds(60));
  grpc::Status s = daemon.storage().CreateVolume(ctx.get(), req, &resp);
  if (!s.ok()) return {"call failed", s.error_message()};
  return {resp.details().at("outcome"), resp.details().at("detail")};
}

TEST_CASE(
    "every escape the hostile driver tries is denied or contained, and "
    "its neighbour sees no failed call",
    "[integration][sandbox]") {
  DaemonSpec spec;
  spec.cars_dir = TestCars("sandbox");
  spec.await_ready = "sbx-neighbour";
  Daemon daemon(spec);
  const int hostile_pid = daemon.AwaitReady("hostile").pid();
  const HostSandboxSupport& host = TestHostSandbox();
  const bool full = FullSandboxOnThisHost();
  Listener listener;
  NeighbourLoad load(daemon);

  const std::string neighbour_data = daemon.dir() + "/state/data/sbx-neighbour";
  std::ofstream(neighbour_data + "/secret") << "not for hostile\n";
  struct Case {
    std::string attempt;
    std::map<std::string, std::string> props;
    bool must_hold;  // this host has the layer that stops it
  };
  const bool seccomp = host.seccomp;
  // Files are protected by the private root or, without one, by a uid of
  // its own (when the daemon's directories let another uid reach its files).
  const bool own_uid = daemon.GetDriver("hostile").sandbox().uid() != 0;
  const bool files = host.namespaces || own_uid;
  const bool cgroups = host.cgroups.version != CgroupVersion::kNone;
  const std::vector<Case> cases = {
      {"write_outside", {{"path", neighbour_data + "/planted"}}, files},
      {"read_other", {{"path", neighbour_data + "/secret"}}, files},
      {"rewrite_pid", {}, host.namespaces},
      {"swap_socket", {}, own_uid},
      {"ptrace_parent", {}, seccomp},
      {"ptrace_init", {}, seccomp},
      {"mount", {}, seccomp},
      {"unshare", {}, seccomp},
      {"setuid", {}, own_uid},
      {"tcp", {}, host.namespaces},
      {"fork_bomb", {}, cgroups || own_uid},
      {"memory_bomb", {}, cgroups},
      {"fd_exhaustion", {}, true},
      {"stderr_flood", {}, true},
  };
  for (const Case& c : cases) {
    auto [outcome, detail] = Attempt(daemon, c.attempt, c.props,
                                     c.attempt == "tcp" ? listener.port() : 0);
    INFO(c.attempt << ": " << outcome << ": " << detail);
    if (c.must_hold || full) {
      CHECK((outcome == "denied" || outcome == "contained"));
    } else if (outcome != "denied" && outcome != "contained") {
      WARN("not stopped on this host (" << host.Summary() << "): " << c.attempt
                                        << ": " << detail);
    }
  }
  if (files) CHECK(!fs::exists(neighbour_data + "/planted"));
  if (host.namespaces) CHECK(listener.Accepted() == 0);
  // The same driver process answered every attempt.
  CHECK(daemon.GetDriver("hostile").pid() == hostile_pid);

  // A forbidden call in the driver process itself ends it, and says why.
  if (seccomp) {
    auto [outcome, detail] = Attempt(daemon, "self_seccomp");
    CHECK(outcome == "call failed");
    const sv1::Driver d = AwaitDriver(daemon, "hostile", [&](const auto& d) {
      return d.state() == sv1::DRIVER_STATE_READY && d.pid() != 0 &&
             d.pid() != hostile_pid;
    });
    INFO("last exit: " << d.last_exit());
    INFO(SupervisorLines(daemon, "hostile"));
    CHECK(absl::StartsWith(d.last_exit(), "killed by seccomp (SIGSYS)"));
  }
  if (cgroups) {
    const int before = daemon.GetDriver("hostile").pid();
    auto [outcome, detail] = Attempt(daemon, "self_memory");
    CHECK(outcome == "call failed");
    const sv1::Driver d = AwaitDriver(daemon, "hostile", [&](const auto& d) {
      return d.state() == sv1::DRIVER_STATE_READY && d.pid() != 0 &&
             d.pid() != before;
    });
    INFO("last exit: " << d.last_exit());
    CHECK(absl::StartsWith(d.last_exit(), "exceeded memory limit 128 MiB"));
  }

  load.Stop();
  INFO(absl::StrJoin(load.errors(), "\n"));
  CHECK(load.ok() > 0);
  CHECK(load.errors().empty());
  // The daemon and the other drivers go on serving.
  for (const char* name : {"sbx-neighbour", "libconf-a", "libconf-b"}) {
    CHECK(daemon.GetDriver(name).state() == sv1::DRIVER_STATE_READY);
    CHECK(daemon.GetDriver(name).restarts() == 0);
  }
  CHECK(absl::StrContains(daemon.Log(), "lines of output dropped"));
}

std::map<std::string, std::string> Capabilities(Daemon& daemon,
                                                const std::string& driver) {
  dv1::GetStorageCapabilitiesRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id("v1");
  dv1::GetStorageCapabilitiesResponse resp;
  auto ctx = daemon.Routed(driver);
  grpc::Status s = daemon.storage().GetCapabilities(ctx.get(), req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return {resp.capabilities().begin(), resp.capabilities().end()};
}

TEST_CASE(
    "two drivers shipping conflicting versions of one library both "
    "serve at the same time",
    "[integration][sandbox]") {
  DaemonSpec spec;
  spec.cars_dir = TestCars("sandbox");
  spec.await_ready = "libconf-a";
  Daemon daemon(spec);
  const sv1::Driver b = daemon.AwaitReady("libconf-b");
  const sv1::Driver a = daemon.GetDriver("libconf-a");
  REQUIRE(a.state() == sv1::DRIVER_STATE_READY);
  REQUIRE(a.pid() != 0);
  REQUIRE(b.pid() != 0);
  auto caps_a = Capabilities(daemon, "libconf-a");
  auto caps_b = Capabilities(daemon, "libconf-b");
  CHECK(caps_a["LIBPITCONF"] == "1.0.0");
  CHECK(caps_b["LIBPITCONF"] == "2.0.0");
  CHECK(caps_b["V2_FEATURE"] == "2");
  // Each found the library in its own CAR's lib/.
  if (FullSandboxOnThisHost()) {
    CHECK(caps_a["LIBPATH"] == "/driver/lib/libpitconf.so.1");
    CHECK(caps_b["LIBPATH"] == "/driver/lib/libpitconf.so.1");
  } else {
    CHECK(absl::StrContains(caps_a["LIBPATH"], "/libconf-a/"));
    CHECK(absl::StrContains(caps_b["LIBPATH"], "/libconf-b/"));
  }
  // Both processes are still the ones that started: nothing crashed.
  CHECK(daemon.GetDriver("libconf-a").pid() == a.pid());
  CHECK(daemon.GetDriver("libconf-b").pid() == b.pid());
}

TEST_CASE(
    "a driver asking for outbound network is refused until the operator "
    "grants it at install",
    "[integration][sandbox]") {
  std::string t = (fs::temp_directory_path() / "pitstop-grant-XXXXXX").string();
  const std::string cars = ::mkdtemp(t.data());
  const std::string car = TestCars("sbx-outbound") + "/sbx-outbound.car";
  DaemonSpec spec;
  spec.cars_dir = cars;
  spec.await_ready = "";
  auto cli = [&](Daemon& daemon, std::vector<std::string> args) {
    std::vector<std::string> argv = {PITSTOP_CLI_PATH, "--address",
                                     daemon.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, absl::Seconds(60));
  };
  auto serving = [](Daemon& daemon) {
    REQUIRE(daemon.channel()->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(30))));
  };
  {
    Daemon daemon(spec);
    serving(daemon);
    CommandResult refused = cli(daemon, {"install", car});
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code != 0);
    CHECK(absl::StrContains(refused.err, "permission missing"));
    CHECK(absl::StrContains(refused.err, "permissions.network: outbound"));
    CHECK(absl::StrContains(refused.err, "--grant network=outbound"));
    sv1::Driver d = daemon.GetDriver("sbx-outbound");
    CHECK(d.pid() == 0);
    CHECK(absl::StrContains(d.message(), "permission missing"));

    CommandResult bad = cli(daemon, {"remove", "sbx-outbound"});
    REQUIRE(bad.exit_code == 0);
    bad = cli(daemon, {"install", car, "--grant", "network=everything"});
    CHECK(bad.exit_code != 0);
    CHECK(absl::StrContains(bad.err, "unknown grant 'network=everything'"));

    CommandResult granted =
        cli(daemon, {"install", car, "--grant", "network=outbound"});
    INFO(granted.out << granted.err);
    REQUIRE(granted.exit_code == 0);
    d = daemon.AwaitReady("sbx-outbound");
    CHECK(std::vector<std::string>(d.grants().begin(), d.grants().end()) ==
          std::vector<std::string>{"network=outbound"});
    CHECK(d.sandbox().network() == "host");
    CHECK(std::find(d.sandbox().namespaces().begin(),
                    d.sandbox().namespaces().end(),
                    "net") == d.sandbox().namespaces().end());
    if (FullSandboxOnThisHost()) {
      CHECK(Namespace(d.pid(), "net") == Namespace(daemon.pid(), "net"));
      CHECK(Namespace(d.pid(), "mnt") != Namespace(daemon.pid(), "mnt"));
    }
    REQUIRE(daemon.Terminate().Clean());
  }
  // The grant is kept with the CAR: a restarted daemon runs the driver.
  Daemon again(spec);
  serving(again);
  CHECK(again.AwaitReady("sbx-outbound").sandbox().network() == "host");
  REQUIRE(again.Terminate().Clean());
  std::error_code ec;
  fs::remove_all(cars, ec);
}

}  // namespace
}  // namespace pitstop
