// What an install or a remove leaves on disk: nothing once it is undone,
// and nothing of one a crash interrupted after the next start.

#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

std::string Car(int major) {
  return std::string(PITSTOP_TEST_CARS_DIR) + "/recorder-" +
         std::to_string(major) + "/recorder-" + std::to_string(major) + ".car";
}

// The recorder driver from a drivers directory of the test's own.
DaemonSpec OwnCars(const std::string& dir) {
  DaemonSpec spec = RecorderIn(dir);
  spec.cars_dir = dir + "/cars";
  fs::create_directories(spec.cars_dir);
  if (!fs::exists(spec.cars_dir + "/recorder-1.0.0.car")) {
    fs::copy_file(Car(1), spec.cars_dir + "/recorder-1.0.0.car");
  }
  return spec;
}

TEST_CASE(
    "a start removes what an install a crash interrupted left: partial CARs "
    "and staging directories",
    "[integration][install]") {
  const std::string dir = MakeTempDir("pitstop-files");
  KeeperReaper reaper(dir);
  const DaemonSpec spec = OwnCars(dir);
  const fs::path packages = fs::path(dir) / "state" / "packages";
  {
    Daemon first(spec);
    first.Kill();
  }
  // As a kill -9 in the middle of receiving and of unpacking leaves them.
  std::ofstream(spec.cars_dir + "/.incoming-Ab12Cd") << "PK partial";
  fs::create_directories(packages / ".staging-.unpack-99-x.car-Zy98Xw" / "bin");
  std::ofstream(packages / ".staging-.unpack-99-x.car-Zy98Xw" / "bin" / "x")
      << "half";
  fs::create_directories(packages / ".unpack-99-x.car" / "META-INF");
  fs::create_directories(packages / "gone-driver");

  Daemon second(spec);
  CHECK(!fs::exists(spec.cars_dir + "/.incoming-Ab12Cd"));
  CHECK(!fs::exists(packages / ".staging-.unpack-99-x.car-Zy98Xw"));
  CHECK(!fs::exists(packages / ".unpack-99-x.car"));
  CHECK(!fs::exists(packages / "gone-driver"));
  CHECK(
      fs::exists(packages / "recorder" / "1.0.0" / "META-INF" / "driver.yaml"));
  CHECK(second.Log().find("removed what an interrupted install left") !=
        std::string::npos);
  REQUIRE(second.Terminate().Clean());
  fs::remove_all(dir);
}

TEST_CASE(
    "installing a version and removing the driver leaves nothing of it: no "
    "CAR, no unpacked files, no record, no empty directory",
    "[integration][install]") {
  const std::string dir = MakeTempDir("pitstop-files");
  KeeperReaper reaper(dir);
  const DaemonSpec spec = OwnCars(dir);
  Daemon d(spec);
  const CommandResult install = d.Cli({"install", Car(2)});
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  const fs::path packages = fs::path(dir) / "state" / "packages";
  REQUIRE(fs::exists(packages / "recorder" / "2.0.0"));
  REQUIRE(fs::exists(packages / ".installed" / "recorder-2.0.0.car"));

  const CommandResult remove = d.Cli({"remove", "recorder"});
  INFO(remove.out << remove.err);
  REQUIRE(remove.exit_code == 0);
  CHECK(!fs::exists(packages / "recorder"));
  CHECK(fs::is_empty(spec.cars_dir));
  CHECK((!fs::exists(packages / ".installed") ||
         fs::is_empty(packages / ".installed")));
  fs::remove_all(dir);
}

TEST_CASE(
    "with the state filesystem full, pitstop stop fails saying why and the "
    "driver keeps running; with space again the stop holds across a restart",
    "[integration][install]") {
  const std::string dir = MakeTempDir("pitstop-full");
  const std::string state = dir + "/state";
  fs::create_directories(state);
  if (::geteuid() != 0 ||
      ::mount("tmpfs", state.c_str(), "tmpfs", 0, "size=48m") != 0) {
    WARN("not run: mounting a small tmpfs needs root");
    fs::remove_all(dir);
    return;
  }
  {
    KeeperReaper reaper(dir);
    const DaemonSpec spec = OwnCars(dir);
    auto d = std::make_unique<Daemon>(spec);
    REQUIRE(d->Cli({"install", Car(2)}).exit_code == 0);
    // Fill it.
    {
      std::ofstream filler(state + "/filler", std::ios::binary);
      const std::string block(1 << 20, 'x');
      while (filler.write(block.data(), block.size())) {
      }
    }
    const CommandResult stop = d->Cli({"stop", "recorder"});
    INFO(stop.out << stop.err);
    CHECK(stop.exit_code != 0);
    CHECK(stop.err.find("nothing was changed") != std::string::npos);
    CHECK(d->GetDriver("recorder").state() ==
          pitstop::supervisor::v1::DRIVER_STATE_READY);
    // An upgrade, whose end is saved when it commits, is refused up front.
    const CommandResult upgrade =
        d->Cli({"upgrade", "recorder", "--to", "2.0.0"});
    INFO(upgrade.out << upgrade.err);
    CHECK(upgrade.exit_code != 0);
    CHECK(upgrade.err.find("nothing was changed") != std::string::npos);
    CHECK(d->GetDriver("recorder").version() == "1.0.0");
    CHECK(d->GetDriver("recorder").upgrade().empty());

    fs::remove(state + "/filler");
    const CommandResult again = d->Cli({"stop", "recorder"});
    INFO(again.out << again.err);
    REQUIRE(again.exit_code == 0);
    d->Kill();
    d = std::make_unique<Daemon>([&] {
      DaemonSpec s = spec;
      s.await_ready = "";
      return s;
    }());
    CHECK(d->GetDriver("recorder").state() ==
          pitstop::supervisor::v1::DRIVER_STATE_STOPPED);
    d.reset();
  }
  ::umount2(state.c_str(), MNT_DETACH);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
