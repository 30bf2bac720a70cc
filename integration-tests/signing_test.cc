// Signed CARs through the real daemon: the trust policy at install, and the
// check that what runs is what was installed.

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "integration-tests/daemon_fixture.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/code_signing_ca.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace fs = std::filesystem;

struct SignedCars {
  SignedCars() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-signed-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    REQUIRE(InitCodeSigningCa((dir / "ca").string()).ok());
    REQUIRE(IssueCodeSigningCertificate((dir / "ca").string(), "samples").ok());
    fs::create_directories(dir / "trust");
    fs::copy_file(dir / "ca" / "root.pem", dir / "trust" / "root.pem");
    fs::create_directories(dir / "cars");
    for (const char* name : {"iscsi-base", "flashpool"}) {
      REQUIRE(SignCar(std::string(PITSTOP_CARS_DIR) + "/" + name + ".car",
                      (dir / "cars" / (std::string(name) + ".car")).string(),
                      (dir / "ca" / "samples.key").string(),
                      (dir / "ca" / "samples.pem").string(), "")
                  .ok());
    }
    // Unsigned.
    fs::copy_file(std::string(PITSTOP_CARS_DIR) + "/nvpnet.car",
                  dir / "cars" / "nvpnet.car");
  }
  ~SignedCars() { fs::remove_all(dir); }
  std::string Config(bool require) const {
    return std::string("require_signed: ") + (require ? "true" : "false") +
           "\ntrust_dir: " + (dir / "trust").string() + "\n";
  }
  fs::path dir;
};

TEST_CASE(
    "with require_signed only CARs signed under a trusted root are "
    "installed",
    "[integration]") {
  SignedCars cars;
  DaemonSpec spec;
  spec.cars_dir = (cars.dir / "cars").string();
  spec.config_yaml = cars.Config(true);
  Daemon daemon(spec);
  sv1::Driver d = daemon.GetDriver("flashpool");
  REQUIRE(d.signer().find("CN=samples") != std::string::npos);
  grpc::ClientContext ctx;
  sv1::ListDriversResponse list;
  REQUIRE(daemon.admin().ListDrivers(&ctx, {}, &list).ok());
  std::vector<std::string> names;
  for (const auto& x : list.drivers()) names.push_back(x.name());
  REQUIRE(names == std::vector<std::string>{"iscsi-base", "flashpool"});
  REQUIRE(daemon.Log().find("require_signed is on and") != std::string::npos);
  REQUIRE(daemon.Log().find("nvpnet.car: not signed") != std::string::npos);
}

TEST_CASE(
    "a CAR whose signature fails is refused even when signatures are "
    "optional",
    "[integration]") {
  SignedCars cars;
  // Another CA's root: the samples' signatures no longer chain to it.
  fs::remove(cars.dir / "trust" / "root.pem");
  REQUIRE(InitCodeSigningCa((cars.dir / "other").string()).ok());
  fs::copy_file(cars.dir / "other" / "root.pem",
                cars.dir / "trust" / "root.pem");
  DaemonSpec spec;
  spec.cars_dir = (cars.dir / "cars").string();
  spec.config_yaml = cars.Config(false);
  spec.await_ready = "nvpnet";  // unsigned, allowed
  Daemon daemon(spec);
  grpc::ClientContext ctx;
  sv1::ListDriversResponse list;
  REQUIRE(daemon.admin().ListDrivers(&ctx, {}, &list).ok());
  REQUIRE(list.drivers_size() == 1);
  REQUIRE(list.drivers(0).name() == "nvpnet");
  REQUIRE(list.drivers(0).signer().empty());
  REQUIRE(daemon.Log().find("is not trusted") != std::string::npos);
}

TEST_CASE(
    "car inspect shows the driver, the files and the signature "
    "verdict",
    "[integration]") {
  SignedCars cars;
  const std::string car = (cars.dir / "cars" / "flashpool.car").string();
  CommandResult ok = RunCommand({PITSTOP_CLI_PATH, "car", "inspect", car,
                                 "--trust", (cars.dir / "trust").string()});
  INFO(ok.out << ok.err);
  REQUIRE(ok.exit_code == 0);
  REQUIRE(ok.out.find("driver:     flashpool 1.0.0 (storage)") !=
          std::string::npos);
  REQUIRE(ok.out.find("bin/flashpool-driver") != std::string::npos);
  REQUIRE(ok.out.find("verified, signed by CN=samples") != std::string::npos);

  CommandResult unsigned_car =
      RunCommand({PITSTOP_CLI_PATH, "car", "inspect",
                  (cars.dir / "cars" / "nvpnet.car").string(), "--trust",
                  (cars.dir / "trust").string()});
  REQUIRE(unsigned_car.exit_code != 0);
  REQUIRE(unsigned_car.out.find("not signed") != std::string::npos);
}

std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("CARs are installed into and removed from a running daemon",
          "[integration]") {
  SignedCars cars;
  const fs::path only = cars.dir / "only";
  fs::create_directories(only);
  fs::copy_file(cars.dir / "cars" / "iscsi-base.car", only / "iscsi-base.car");
  DaemonSpec spec;
  spec.cars_dir = only.string();
  spec.config_yaml = cars.Config(true);
  spec.await_ready = "iscsi-base";
  Daemon daemon(spec);
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(),
                {PITSTOP_CLI_PATH, "--address", daemon.address()});
    return RunCommand(args);
  };

  CommandResult installed =
      cli({"install", (cars.dir / "cars" / "flashpool.car").string()});
  INFO(installed.out << installed.err);
  REQUIRE(installed.exit_code == 0);
  REQUIRE(
      installed.out.find("installed flashpool 1.0.0 (signed by CN=samples") !=
      std::string::npos);
  REQUIRE(installed.out.find("READY") != std::string::npos);
  REQUIRE(Listing(only) ==
          std::vector<std::string>{"flashpool-1.0.0.car", "iscsi-base.car"});

  CommandResult again =
      cli({"install", (cars.dir / "cars" / "flashpool.car").string()});
  REQUIRE(again.exit_code != 0);
  REQUIRE(again.err.find("ALREADY_EXISTS") != std::string::npos);

  const auto packages_before =
      Listing(fs::path(daemon.dir()) / "state" / "packages");
  CommandResult unsigned_car =
      cli({"install", (cars.dir / "cars" / "nvpnet.car").string()});
  REQUIRE(unsigned_car.exit_code != 0);
  REQUIRE(unsigned_car.err.find("PERMISSION_DENIED") != std::string::npos);
  REQUIRE(unsigned_car.err.find("not signed") != std::string::npos);
  REQUIRE(Listing(only) ==
          std::vector<std::string>{"flashpool-1.0.0.car", "iscsi-base.car"});
  REQUIRE(Listing(fs::path(daemon.dir()) / "state" / "packages") ==
          packages_before);

  CommandResult packages = cli({"packages"});
  REQUIRE(packages.exit_code == 0);
  REQUIRE(packages.out.find("flashpool-1.0.0.car") != std::string::npos);

  CommandResult needed = cli({"remove", "iscsi-base"});
  REQUIRE(needed.exit_code != 0);
  REQUIRE(needed.err.find("flashpool requires iscsi-base") !=
          std::string::npos);

  const std::string install_dir = daemon.GetDriver("flashpool").install_dir();
  CommandResult removed = cli({"remove", "flashpool"});
  INFO(removed.err);
  REQUIRE(removed.exit_code == 0);
  REQUIRE(removed.out == "removed flashpool 1.0.0\n");
  REQUIRE(Listing(only) == std::vector<std::string>{"iscsi-base.car"});
  REQUIRE(!fs::exists(install_dir));
  CommandResult gone = cli({"describe", "flashpool"});
  REQUIRE(gone.err.find("NOT_FOUND") != std::string::npos);
}

TEST_CASE("an entrypoint changed on disk after install never runs",
          "[integration]") {
  Daemon daemon;
  sv1::Driver d = daemon.GetDriver("flashpool");
  const fs::path exe = fs::path(d.install_dir()) / "bin" / "flashpool-driver";
  // Replace the file (the running binary cannot be written in place).
  fs::copy_file(exe, exe.string() + ".new");
  std::ofstream(exe.string() + ".new", std::ios::app) << "tampered";
  fs::rename(exe.string() + ".new", exe);
  REQUIRE(::kill(d.pid(), SIGKILL) == 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    d = daemon.GetDriver("flashpool");
    if (d.last_exit().find("changed on disk") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  INFO(d.ShortDebugString());
  REQUIRE(d.last_exit().find("changed on disk since it was installed") !=
          std::string::npos);
  REQUIRE(d.state() != sv1::DRIVER_STATE_READY);
}

}  // namespace
}  // namespace pitstop
