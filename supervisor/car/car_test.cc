#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_writer.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "pitstop-car-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteFile(const fs::path& p, const std::string& content, mode_t mode) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
  ::chmod(p.c_str(), mode);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr char kYaml[] =
    "name: demo\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/demo\n";

// Writes a zip by hand, for archives `car pack` would refuse to make.
struct RawEntry {
  std::string name;
  std::string content;
  mode_t type = AE_IFREG;
  std::string symlink;
};

void WriteRawZip(const fs::path& out, const std::vector<RawEntry>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  REQUIRE(archive_write_open_filename(a, out.c_str()) == ARCHIVE_OK);
  for (const RawEntry& r : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, r.name.c_str());
    archive_entry_set_filetype(e, r.type);
    archive_entry_set_perm(e, 0644);
    if (!r.symlink.empty()) archive_entry_set_symlink(e, r.symlink.c_str());
    archive_entry_set_size(e, r.type == AE_IFREG ? r.content.size() : 0);
    archive_write_header(a, e);
    if (r.type == AE_IFREG) {
      archive_write_data(a, r.content.data(), r.content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

TEST_CASE("a packed CAR unpacks to the same files with safe modes", "[car]") {
  TempDir dir;
  fs::path src = dir.path() / "src";
  WriteFile(src / "META-INF/driver.yaml", kYaml, 0644);
  WriteFile(src / "bin/demo", "#!/bin/sh\n", 0755);
  WriteFile(src / "resources/messages.properties", "a=b\n", 0644);
  WriteFile(src / "lib/libx.so", "not really", 0644);
  fs::path car = dir.path() / "demo.car";
  REQUIRE(PackCar(src.string(), car.string()).ok());

  // MANIFEST.MF is synthesized and readable without unpacking.
  auto mf = ReadCarEntry(car.string(), "META-INF/MANIFEST.MF");
  REQUIRE(mf.ok());
  REQUIRE(mf->rfind("Manifest-Version: 1.0", 0) == 0);

  fs::path out = dir.path() / "out";
  REQUIRE(UnpackCar(car.string(), out.string()).ok());
  REQUIRE(ReadFile(out / "META-INF/driver.yaml") == kYaml);
  REQUIRE(ReadFile(out / "resources/messages.properties") == "a=b\n");
  REQUIRE((fs::status(out / "bin/demo").permissions() &
           fs::perms::owner_exec) != fs::perms::none);
  REQUIRE((fs::status(out / "lib/libx.so").permissions() &
           fs::perms::owner_exec) == fs::perms::none);
  // A second unpack into the same place is refused, not merged.
  REQUIRE(UnpackCar(car.string(), out.string()).code() ==
          absl::StatusCode::kAlreadyExists);
}

TEST_CASE(
    "an entrypoint without its execute bit in the source is packed "
    "executable",
    "[car]") {
  TempDir dir;
  fs::path src = dir.path() / "src";
  WriteFile(src / "META-INF/driver.yaml", kYaml, 0644);
  // An interpreted entrypoint, as a checkout on a file system without
  // modes (or a zip tool) leaves it.
  WriteFile(src / "bin/demo", "#!/usr/bin/python3\n", 0644);
  fs::path car = dir.path() / "demo.car";
  REQUIRE(PackCar(src.string(), car.string()).ok());
  fs::path out = dir.path() / "out";
  REQUIRE(UnpackCar(car.string(), out.string()).ok());
  REQUIRE((fs::status(out / "bin/demo").permissions() &
           fs::perms::owner_exec) != fs::perms::none);
}

TEST_CASE("packing the same directory twice gives the same bytes", "[car]") {
  TempDir dir;
  fs::path src = dir.path() / "src";
  WriteFile(src / "META-INF/driver.yaml", kYaml, 0644);
  WriteFile(src / "bin/demo", "#!/bin/sh\n", 0755);
  REQUIRE(PackCar(src.string(), (dir.path() / "a.car").string()).ok());
  REQUIRE(PackCar(src.string(), (dir.path() / "b.car").string()).ok());
  REQUIRE(ReadFile(dir.path() / "a.car") == ReadFile(dir.path() / "b.car"));
}

TEST_CASE("packing refuses a directory without a runnable entrypoint",
          "[car]") {
  TempDir dir;
  fs::path src = dir.path() / "src";
  WriteFile(src / "META-INF/driver.yaml", kYaml, 0644);
  auto s = PackCar(src.string(), (dir.path() / "a.car").string());
  REQUIRE(s.code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(s.message().find("bin/demo") != std::string::npos);
  WriteFile(src / "bin/demo", "x", 0755);
  WriteFile(src / "etc/passwd", "x", 0644);
  s = PackCar(src.string(), (dir.path() / "a.car").string());
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s.message().find("etc/passwd") != std::string::npos);
}

TEST_CASE("hostile archives are refused and leave nothing behind", "[car]") {
  struct Case {
    const char* what;
    std::vector<RawEntry> entries;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"zip slip", {{"bin/../../evil", "x"}}, "'..' path component"},
      {"absolute path", {{"/etc/evil", "x"}}, "absolute path"},
      {"unknown top level", {{"etc/evil", "x"}}, "allowed top-level folders"},
      // libarchive reads a zip's backslashes as slashes; the raw name in the
      // central directory is checked first.
      {"backslash", {{"bin\\..\\evil", "x"}}, "backslash"},
      {"symlink", {{"bin/link", "", AE_IFLNK, "/etc/passwd"}}, "symlinks"},
      {"case-folded duplicate",
       {{"bin/Tool", "a"}, {"bin/tool", "b"}},
       "duplicate name"},
      {"exact duplicate",
       {{"bin/tool", "a"}, {"bin/tool", "b"}},
       "duplicate name"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    TempDir dir;
    fs::path car = dir.path() / "bad.car";
    WriteRawZip(car, c.entries);
    fs::path out = dir.path() / "out";
    absl::Status s = UnpackCar(car.string(), out.string());
    INFO(s.message());
    REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(s.message().find(c.expected) != std::string::npos);
    REQUIRE(!fs::exists(out));
    // Only the archive remains: the staging directory is gone too.
    REQUIRE(std::distance(fs::directory_iterator(dir.path()),
                          fs::directory_iterator()) == 1);
  }
}

TEST_CASE("size caps count the bytes actually unpacked", "[car]") {
  TempDir dir;
  fs::path car = dir.path() / "big.car";
  WriteRawZip(car, {{"resources/zeros", std::string(4 << 20, '\0')}});
  UnpackLimits limits;
  limits.max_file_bytes = 1 << 20;
  absl::Status s =
      UnpackCar(car.string(), (dir.path() / "out").string(), limits);
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s.message().find("larger than") != std::string::npos);
}

TEST_CASE("a file that is not a zip is refused with its name", "[car]") {
  TempDir dir;
  fs::path car = dir.path() / "junk.car";
  WriteFile(car, "this is not a zip file at all", 0644);
  absl::Status s = UnpackCar(car.string(), (dir.path() / "out").string());
  REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(s.message().find("junk.car") != std::string::npos);
  REQUIRE(UnpackCar((dir.path() / "none.car").string(),
                    (dir.path() / "out").string())
              .code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pitstop
