#include "supervisor/install/package_loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/install/install_record.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct Dir {
  Dir() {
    std::string t = (fs::temp_directory_path() / "loader-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~Dir() { fs::remove_all(path); }
  fs::path path;
};

void WriteDemoCar(const std::string& car, const std::string& script) {
  REQUIRE(
      WriteCarFiles({{"META-INF/driver.yaml",
                      "name: demo\nversion: 1.0.0\ncategory: storage\n"
                      "entrypoint: bin/demo\n"},
                     {"bin/demo", script},
                     {"resources/messages.properties", "demo.title=Demo\n"}},
                    car)
          .ok());
}

ino_t InodeOf(const fs::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

TEST_CASE(
    "a start whose CAR has not changed keeps the installed files as they "
    "are, with the digest recorded when they were unpacked",
    "[install]") {
  Dir d;
  const std::string car = (d.path / "demo.car").string();
  const std::string packages = (d.path / "packages").string();
  WriteDemoCar(car, "#!/bin/sh\nexit 0\n");
  absl::StatusOr<DriverPackage> first = InstallCar(car, packages);
  REQUIRE(first.ok());
  const fs::path entry = fs::path(first->install_dir) / "bin" / "demo";
  const ino_t before = InodeOf(entry);

  absl::StatusOr<DriverPackage> again = LoadInstalledCar(car, packages);
  REQUIRE(again.ok());
  REQUIRE(InodeOf(entry) == before);  // not unpacked again
  REQUIRE(again->install_dir == first->install_dir);
  REQUIRE(again->entrypoint_sha256 == first->entrypoint_sha256);
  REQUIRE(again->manifest.name == "demo");
  REQUIRE(again->car_path == car);
  REQUIRE(again->messages.Lookup("demo.title", "") == "Demo");
}

TEST_CASE(
    "a CAR replaced, installed files damaged or a stricter trust policy "
    "mean unpacking and checking again",
    "[install]") {
  Dir d;
  const std::string car = (d.path / "demo.car").string();
  const std::string packages = (d.path / "packages").string();
  WriteDemoCar(car, "#!/bin/sh\nexit 0\n");
  REQUIRE(InstallCar(car, packages).ok());
  const fs::path entry = fs::path(packages) / "demo" / "1.0.0" / "bin" / "demo";

  SECTION("the CAR replaced") {
    const std::string old_sha =
        LoadInstalledCar(car, packages)->entrypoint_sha256;
    WriteDemoCar(car, "#!/bin/sh\nexit 1\n");
    absl::StatusOr<DriverPackage> p = LoadInstalledCar(car, packages);
    REQUIRE(p.ok());
    REQUIRE(p->entrypoint_sha256 != old_sha);
    std::ifstream in(entry);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    REQUIRE(content == "#!/bin/sh\nexit 1\n");
  }
  SECTION("the entrypoint deleted") {
    fs::remove(entry);
    REQUIRE(LoadInstalledCar(car, packages).ok());
    REQUIRE(fs::exists(entry));
  }
  SECTION("the record garbled") {
    std::ofstream(InstallRecordPath(packages, car), std::ios::trunc)
        << "car=x\n";
    const ino_t before = InodeOf(entry);
    REQUIRE(LoadInstalledCar(car, packages).ok());
    REQUIRE(InodeOf(entry) != before);
  }
  SECTION("signatures now required") {
    absl::StatusOr<DriverPackage> p =
        LoadInstalledCar(car, packages, TrustPolicy{true, ""});
    REQUIRE(p.status().code() == absl::StatusCode::kPermissionDenied);
  }
}

}  // namespace
}  // namespace pitstop
