// A corpus of hostile and broken CARs, generated at test time: each must be
// refused by the verifier and by the installer, and the installer must leave
// the packages directory exactly as it found it.

#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/code_signing_ca.h"
#include "supervisor/install/package_loader.h"
#include "supervisor/sandbox/child_process_manager.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

constexpr char kYaml[] =
    "name: demo\nversion: 1.0.0\ncategory: storage\nentrypoint: bin/demo\n";

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

uint16_t Get16(const std::string& b, size_t at) {
  return static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8;
}

void Put16(std::string& b, size_t at, uint16_t v) {
  b[at] = static_cast<char>(v & 0xff);
  b[at + 1] = static_cast<char>(v >> 8);
}

void Put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}

// One entry of a zip written by hand, for archives `car pack` would refuse
// to make.
struct RawEntry {
  RawEntry(std::string n, std::string c, mode_t t = AE_IFREG,
           std::string l = "")
      : name(std::move(n)),
        content(std::move(c)),
        type(t),
        link(std::move(l)) {}
  std::string name;
  std::string content;
  mode_t type = AE_IFREG;
  std::string link;  // symlink target, or hardlink target for AE_IFREG
};

// Writes `entries` as a zip; `store` leaves the data uncompressed, so that
// tests can find and patch it.
void WriteRawZip(const fs::path& out, const std::vector<RawEntry>& entries,
                 bool store = false) {
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  if (store) archive_write_set_options(a, "zip:compression=store");
  REQUIRE(archive_write_open_filename(a, out.c_str()) == ARCHIVE_OK);
  for (const RawEntry& r : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, r.name.c_str());
    archive_entry_set_filetype(e, r.type);
    archive_entry_set_perm(e, 0644);
    if (r.type == AE_IFLNK) archive_entry_set_symlink(e, r.link.c_str());
    if (r.type == AE_IFREG && !r.link.empty()) {
      archive_entry_set_hardlink(e, r.link.c_str());
    }
    archive_entry_set_size(e, r.type == AE_IFREG ? r.content.size() : 0);
    archive_write_header(a, e);
    if (r.type == AE_IFREG && !r.content.empty()) {
      archive_write_data(a, r.content.data(), r.content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// The entries of a good, unsigned CAR.
std::vector<RawEntry> GoodEntries() {
  return {{"META-INF/driver.yaml", kYaml},
          {"bin/demo", "#!/bin/sh\nexit 0\n"},
          {"resources/messages.properties", "demo.title=Demo\n"}};
}

std::vector<RawEntry> With(std::vector<RawEntry> entries,
                           const std::vector<RawEntry>& more) {
  entries.insert(entries.end(), more.begin(), more.end());
  return entries;
}

// Calls `patch(bytes, offset)` with the offset of the central directory
// record of `name`.
void PatchCentralRecord(
    const fs::path& car, const std::string& name,
    const std::function<void(std::string&, size_t)>& patch) {
  std::string b = ReadBytes(car);
  bool found = false;
  for (size_t at = b.find("PK\1\2"); at != std::string::npos;
       at = b.find("PK\1\2", at + 4)) {
    const uint16_t name_len = Get16(b, at + 28);
    if (b.compare(at + 46, name_len, name) == 0 && name_len == name.size()) {
      patch(b, at);
      found = true;
    }
  }
  REQUIRE(found);
  WriteBytes(car, b);
}

// Makes `name` a Unix entry of the given mode (type and permissions).
void SetUnixMode(const fs::path& car, const std::string& name, uint32_t mode) {
  PatchCentralRecord(car, name, [mode](std::string& b, size_t at) {
    b[at + 5] = 3;  // made by: Unix
    Put32(b, at + 38, mode << 16);
  });
}

// Paths (relative to the root), types and contents of everything under a
// directory.
std::map<std::string, std::string> Snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), root);
    if (rel.begin()->string() == "cars") {
      it.disable_recursion_pending();
      continue;
    }
    const auto st = it->symlink_status(ec);
    std::string what = absl::StrCat(static_cast<int>(st.type()), ":",
                                    static_cast<int>(st.permissions()), ":");
    if (st.type() == fs::file_type::regular) what += ReadBytes(it->path());
    out[rel.string()] = what;
  }
  return out;
}

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

// A CA with a trusted root and vendors (good, from another CA, expired,
// without code signing), and a packages directory that already holds
// demo 1.0.0.
class Corpus {
 public:
  Corpus() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-hostile-XXXXXX").string();
    root_ = ::mkdtemp(t.data());
    ca_ = root_ / "ca";
    REQUIRE(InitCodeSigningCa(ca_.string()).ok());
    REQUIRE(IssueCodeSigningCertificate(ca_.string(), "acme").ok());
    IssueOptions expired;
    expired.not_before = -absl::Hours(24 * 400);
    expired.valid_for = absl::Hours(24 * 30);
    REQUIRE(IssueCodeSigningCertificate(ca_.string(), "old", expired).ok());
    IssueOptions plain;
    plain.code_signing = false;
    REQUIRE(IssueCodeSigningCertificate(ca_.string(), "plain", plain).ok());
    REQUIRE(InitCodeSigningCa((root_ / "rogue").string()).ok());
    REQUIRE(IssueCodeSigningCertificate((root_ / "rogue").string(), "mallory")
                .ok());
    fs::create_directories(root_ / "trust");
    fs::copy_file(ca_ / "root.pem", root_ / "trust" / "root.pem");
    fs::create_directories(root_ / "cars");

    const std::string good = Car("good");
    WriteRawZip(good, GoodEntries());
    Sign(good, "acme");
    auto installed = InstallCar(good, packages(), Policy());
    INFO(installed.status().message());
    REQUIRE(installed.ok());
  }
  ~Corpus() { fs::remove_all(root_); }

  std::string Car(const std::string& name) const {
    return (root_ / "cars" / (name + ".car")).string();
  }
  std::string trust_dir() const { return (root_ / "trust").string(); }
  std::string packages() const { return (root_ / "packages").string(); }
  const fs::path& root() const { return root_; }
  TrustPolicy Policy() const { return TrustPolicy{true, trust_dir()}; }

  // Signs `car` in place with `vendor`'s key; "mallory" comes from the
  // other CA.
  void Sign(const std::string& car, const std::string& vendor) {
    const fs::path dir = vendor == "mallory" ? root_ / "rogue" : ca_;
    absl::Status s = SignCar(car, car, (dir / (vendor + ".key")).string(),
                             (dir / (vendor + ".pem")).string(), "", "PITSTOP");
    INFO(s.message());
    REQUIRE(s.ok());
  }

  // Rewrites `car` (through the checked reader) after `change`.
  static void Edit(const std::string& car,
                   const std::function<void(std::vector<CarFile>&)>& change) {
    auto files = ReadCarFiles(car);
    REQUIRE(files.ok());
    change(*files);
    REQUIRE(WriteCarFiles(*files, car).ok());
  }

 private:
  fs::path root_, ca_;
};

// A signed good CAR, then `change`.
std::function<void(Corpus&, const std::string&)> SignedThen(
    std::function<void(std::vector<CarFile>&)> change) {
  return [change](Corpus& c, const std::string& car) {
    WriteRawZip(car, GoodEntries());
    c.Sign(car, "acme");
    Corpus::Edit(car, change);
  };
}

// A signed good CAR, then `change` to its bytes.
std::function<void(Corpus&, const std::string&)> SignedBytesThen(
    std::function<void(std::string&)> change) {
  return [change](Corpus& c, const std::string& car) {
    WriteRawZip(car, GoodEntries());
    c.Sign(car, "acme");
    std::string b = ReadBytes(car);
    change(b);
    WriteBytes(car, b);
  };
}

// An unsigned zip of `entries`.
std::function<void(Corpus&, const std::string&)> Raw(
    std::vector<RawEntry> entries) {
  return
      [entries](Corpus&, const std::string& car) { WriteRawZip(car, entries); };
}

// A CAR made of `entries`, signed by acme when `sign`.
std::function<void(Corpus&, const std::string&)> Content(
    std::vector<RawEntry> entries, bool sign) {
  return [entries, sign](Corpus& c, const std::string& car) {
    WriteRawZip(car, entries);
    if (sign) c.Sign(car, "acme");
  };
}

std::vector<RawEntry> WithYaml(const std::string& yaml) {
  std::vector<RawEntry> e = GoodEntries();
  e[0].content = yaml;
  return e;
}

void EraseFile(std::vector<CarFile>& files, const std::string& name) {
  files.erase(std::remove_if(files.begin(), files.end(),
                             [&](const CarFile& f) { return f.name == name; }),
              files.end());
}

struct Case {
  const char* what;
  std::function<void(Corpus&, const std::string&)> make;
  // What VerifyCar says; nullptr when the signature holds and only the
  // content is bad (then the installer must refuse it).
  const char* verify_error;
  // What InstallCar with require_signed says.
  const char* install_error;
  // The archive is unreadable or its content unusable, so InstallCar
  // without any trust policy refuses it too.
  bool refused_without_trust;
};

std::vector<Case> Cases() {
  const char* kNotSigned = "not signed";
  std::vector<Case> cases = {
      // Structure: the checked reader refuses these, whoever asks.
      {"zip slip", Raw(With(GoodEntries(), {{"bin/../../evil", "x"}})),
       "'..' path component", "'..' path component", true},
      {"deep zip slip",
       Raw(With(GoodEntries(), {{"resources/a/../../../../../tmp/evil", "x"}})),
       "'..' path component", "'..' path component", true},
      {"absolute path", Raw(With(GoodEntries(), {{"/etc/evil", "x"}})),
       "absolute path", "absolute path", true},
      {"symlink",
       Raw(With(GoodEntries(), {{"bin/link", "", AE_IFLNK, "/etc/passwd"}})),
       "symlinks", "symlinks", true},
      {"symlink replacing the entrypoint",
       Raw({{"META-INF/driver.yaml", kYaml},
            {"bin/demo", "", AE_IFLNK, "/bin/sh"}}),
       "symlinks", "symlinks", true},
      {"symlink by mode bits",
       [](Corpus&, const std::string& car) {
         WriteRawZip(car, With(GoodEntries(), {{"bin/link", "/etc"}}), true);
         SetUnixMode(car, "bin/link", 0120777);
       },
       "symlinks", "symlinks", true},
      {"character device",
       [](Corpus&, const std::string& car) {
         WriteRawZip(car, With(GoodEntries(), {{"bin/null", "x"}}), true);
         SetUnixMode(car, "bin/null", 0020666);
       },
       "devices", "devices", true},
      {"socket",
       [](Corpus&, const std::string& car) {
         WriteRawZip(car, With(GoodEntries(), {{"bin/sock", "x"}}), true);
         SetUnixMode(car, "bin/sock", 0140644);
       },
       "only regular files and directories", "only regular files", true},
      {"exact duplicate",
       Raw(With(GoodEntries(), {{"bin/demo", "#!/bin/sh\nrm -rf ~\n"}})),
       "duplicate name", "duplicate name", true},
      {"case-fold collision",
       Raw(With(GoodEntries(), {{"bin/Demo", "x"}, {"bin/DEMO", "y"}})),
       "duplicate name", "duplicate name", true},
      {"zip bomb",
       Raw(With(GoodEntries(),
                {{"resources/zeros", std::string(64 << 20, '\0')}})),
       "a zip bomb", "a zip bomb", true},
      {"too many entries",
       [](Corpus&, const std::string& car) {
         std::vector<RawEntry> e = GoodEntries();
         for (int i = 0; i <= 10'000; ++i) {
           e.push_back({absl::StrCat("resources/f", i), ""});
         }
         WriteRawZip(car, e);
       },
       "more than 10000 entries", "more than 10000 entries", true},
      {"unknown top-level folder",
       Raw(With(GoodEntries(), {{"etc/cron.d/evil", "x"}})),
       "allowed top-level folders", "allowed top-level folders", true},
      {"backslash name",
       [](Corpus&, const std::string& car) {
         WriteRawZip(car, With(GoodEntries(), {{"bin/a\\b", "x"}}), true);
         SetUnixMode(car, "bin/a\\b", 0100644);
       },
       "backslash", "backslash", true},
      {"control character in a name",
       Raw(With(GoodEntries(), {{"bin/a\nb", "x"}})), "control character",
       "control character", true},
      {"invalid UTF-8 name",
       Raw(With(GoodEntries(), {{"resources/\xff\xfe", "x"}})), "UTF-8",
       "UTF-8", true},
      {"truncated archive",
       SignedBytesThen([](std::string& b) { b.resize(b.size() / 2); }),
       "not a zip archive", "not a zip archive", true},
      {"trailing bytes after the archive",
       SignedBytesThen([](std::string& b) { b += "#!/bin/sh\nevil\n"; }),
       "trailing bytes", "trailing bytes", true},
      {"zip comment", SignedBytesThen([](std::string& b) {
         const std::string comment = "PK\5\6 looks like an end record";
         Put16(b, b.size() - 2, comment.size());
         b += comment;
       }),
       "comment", "comment", true},
      {"Zip64 end record",
       SignedBytesThen([](std::string& b) { Put32(b, b.size() - 6, ~0u); }),
       "Zip64", "Zip64", true},
      {"bytes before the archive (Janus)",
       SignedBytesThen([](std::string& b) { b = "dex\n035\0" + b; }),
       "before the first entry", "before the first entry", true},
      {"corrupted entry data (CRC mismatch)",
       [](Corpus&, const std::string& car) {
         WriteRawZip(car, GoodEntries(), true);
         std::string b = ReadBytes(car);
         const size_t at = b.find("exit 0");
         REQUIRE(at != std::string::npos);
         b[at] = 'X';
         WriteBytes(car, b);
       },
       "CRC", "CRC", true},
      {"central directory name differs from the local header",
       [](Corpus&, const std::string& car) {
         WriteRawZip(car, With(GoodEntries(), {{"bin/evil", "x"}}), true);
         PatchCentralRecord(car, "bin/evil", [](std::string& b, size_t at) {
           std::memcpy(&b[at + 46], "lib/", 4);
         });
       },
       "not in the central directory", "not in the central directory", true},
      {"garbage, not a zip",
       [](Corpus&, const std::string& car) {
         WriteBytes(car, std::string(4096, '\x5a'));
       },
       "not a zip archive", "not a zip archive", true},
      {"empty file",
       [](Corpus&, const std::string& car) { WriteBytes(car, ""); },
       "not a zip archive", "not a zip archive", true},

      // Content: a well-formed archive with a bad driver.yaml or files.
      // Unsigned, the signature policy refuses them first; signed, the
      // installer refuses them on their content.
      {"bad YAML (unsigned)", Content(WithYaml("name: [demo\n"), false),
       kNotSigned, kNotSigned, true},
      {"bad YAML (signed)", Content(WithYaml("name: [demo\n"), true), nullptr,
       "driver.yaml", true},
      {"missing required field (unsigned)",
       Content(WithYaml("name: demo\nversion: 1.0.0\ncategory: storage\n"),
               false),
       kNotSigned, kNotSigned, true},
      {"missing required field (signed)",
       Content(WithYaml("name: demo\nversion: 1.0.0\ncategory: storage\n"),
               true),
       nullptr, "missing required field 'entrypoint'", true},
      {"wrong types (unsigned)",
       Content(WithYaml(absl::StrCat(kYaml, "limits: 512\n")), false),
       kNotSigned, kNotSigned, true},
      {"wrong types (signed)",
       Content(WithYaml(absl::StrCat(kYaml, "limits: 512\n")), true), nullptr,
       "'limits' must be a map", true},
      {"entrypoint outside bin (signed)",
       Content(WithYaml("name: demo\nversion: 1.0.0\ncategory: storage\n"
                        "entrypoint: ../../bin/sh\n"),
               true),
       nullptr, "must be a file under bin/", true},
      {"entrypoint missing from the archive (unsigned)",
       Content({{"META-INF/driver.yaml", kYaml}}, false), kNotSigned,
       kNotSigned, true},
      {"entrypoint missing from the archive (signed)",
       Content({{"META-INF/driver.yaml", kYaml}}, true), nullptr,
       "entrypoint bin/demo is not in the CAR", true},
      {"no driver.yaml (signed)", Content({{"bin/demo", "#!/bin/sh\n"}}, true),
       "META-INF/driver.yaml is missing", "META-INF/driver.yaml is missing",
       true},

      // Signatures: well-formed archives whose signature does not hold.
      {"entry added after signing", SignedThen([](std::vector<CarFile>& f) {
         f.push_back({"bin/extra", "evil"});
       }),
       "bin/extra is not listed in the manifest",
       "bin/extra is not listed in the manifest", false},
      {"entry tampered after signing", SignedThen([](std::vector<CarFile>& f) {
         for (CarFile& c : f) {
           if (c.name == "bin/demo") c.content = "#!/bin/sh\nrm -rf ~\n";
         }
       }),
       "bin/demo was changed after signing",
       "bin/demo was changed after signing", false},
      {"entry removed after signing", SignedThen([](std::vector<CarFile>& f) {
         EraseFile(f, "resources/messages.properties");
       }),
       "listed in the manifest but missing",
       "listed in the manifest but missing", false},
      {"manifest changed after signing",
       SignedThen([](std::vector<CarFile>& f) {
         for (CarFile& c : f) {
           if (c.name == "META-INF/MANIFEST.MF") c.content += "X-Evil: 1\r\n";
         }
       }),
       "MANIFEST.MF was changed after signing",
       "MANIFEST.MF was changed after signing", false},
      {".SF changed after signing", SignedThen([](std::vector<CarFile>& f) {
         for (CarFile& c : f) {
           if (c.name == "META-INF/PITSTOP.SF") c.content += "X-Evil: 1\r\n";
         }
       }),
       "does not verify", "does not verify", false},
      {"wrong signer (another CA)",
       [](Corpus& c, const std::string& car) {
         WriteRawZip(car, GoodEntries());
         c.Sign(car, "mallory");
       },
       "is not trusted", "is not trusted", false},
      {"expired certificate",
       [](Corpus& c, const std::string& car) {
         WriteRawZip(car, GoodEntries());
         c.Sign(car, "old");
       },
       "expired", "expired", false},
      {"certificate without code signing",
       [](Corpus& c, const std::string& car) {
         WriteRawZip(car, GoodEntries());
         c.Sign(car, "plain");
       },
       "no code-signing certificate", "no code-signing certificate", false},
      {"a second .SF", SignedThen([](std::vector<CarFile>& f) {
         f.push_back({"META-INF/OTHER.SF", "Signature-Version: 1.0\r\n\r\n"});
       }),
       "more than one signature", "more than one signature", false},
      {"a .SF without its block", SignedThen([](std::vector<CarFile>& f) {
         EraseFile(f, "META-INF/PITSTOP.EC");
       }),
       "incomplete signature", "incomplete signature", false},
      {"a block without its .SF", SignedThen([](std::vector<CarFile>& f) {
         EraseFile(f, "META-INF/PITSTOP.SF");
       }),
       "incomplete signature", "incomplete signature", false},
      {"a block named for another signer",
       SignedThen([](std::vector<CarFile>& f) {
         for (CarFile& c : f) {
           if (c.name == "META-INF/PITSTOP.EC") c.name = "META-INF/OTHER.EC";
         }
       }),
       "does not belong to", "does not belong to", false},
      {"a garbage signature block", SignedThen([](std::vector<CarFile>& f) {
         for (CarFile& c : f) {
           if (c.name == "META-INF/PITSTOP.EC") c.content = "not DER";
         }
       }),
       "is not a CMS signature", "is not a CMS signature", false},
      {"not signed at all", Raw(GoodEntries()), kNotSigned, kNotSigned, false},
  };
  return cases;
}

TEST_CASE(
    "every CAR of the hostile corpus is refused by the verifier and the "
    "installer and leaves nothing behind",
    "[car][hostile]") {
  Corpus corpus;
  const std::vector<Case> cases = Cases();
  REQUIRE(cases.size() >= 25);
  for (const Case& c : cases) {
    INFO("case: " << c.what);
    const std::string car = corpus.Car("case");
    fs::remove(car);
    c.make(corpus, car);
    const auto before = Snapshot(corpus.root());

    absl::StatusOr<CarSigner> verified = VerifyCar(car, corpus.trust_dir());
    if (c.verify_error == nullptr) {
      INFO("verify: " << verified.status().message());
      CHECK(verified.ok());
    } else {
      INFO("verify: " << verified.status().message());
      CHECK(!verified.ok());
      CHECK(verified.status().message().find(c.verify_error) !=
            absl::string_view::npos);
    }

    // The command an operator runs refuses it too, whatever the reason.
    {
      std::string out;
      const std::string cmd = std::string(PITSTOP_CLI_PATH) + " car verify '" +
                              car + "' --trust '" + corpus.trust_dir() +
                              "' 2>&1";
      FILE* p = ::popen(cmd.c_str(), "r");
      REQUIRE(p != nullptr);
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      const int rc = ::pclose(p);
      INFO("pitstop car verify: " << out);
      CHECK(rc != 0);
      if (c.verify_error != nullptr) {
        CHECK(out.find(c.verify_error) != std::string::npos);
      }
    }

    absl::StatusOr<DriverPackage> installed =
        InstallCar(car, corpus.packages(), corpus.Policy());
    INFO("install: " << installed.status().message());
    CHECK(!installed.ok());
    CHECK(installed.status().message().find(c.install_error) !=
          absl::string_view::npos);
    CHECK(Snapshot(corpus.root()) == before);

    if (c.refused_without_trust) {
      // Without a trust policy the installer unpacks it: its own checks
      // must refuse it, and its staging directories must go.
      absl::StatusOr<DriverPackage> unchecked =
          InstallCar(car, corpus.packages(), TrustPolicy{});
      INFO("install without trust: " << unchecked.status().message());
      CHECK(!unchecked.ok());
      CHECK(Snapshot(corpus.root()) == before);
    }
  }
}

std::string RunShell(const std::string& command, int* rc) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *rc = ::pclose(p);
  return out;
}

TEST_CASE(
    "every CAR of the hostile corpus is refused by pitstop install and leaves "
    "the daemon's directories as they were",
    "[car][hostile]") {
  Corpus corpus;
  TempDir daemon_dir;
  const fs::path d = daemon_dir.path();
  fs::create_directories(d / "cars");
  const std::string address = "unix:" + (d / "s.sock").string();
  ChildProcessManager launcher;
  absl::Mutex mu;
  bool exited = false;
  auto pid = launcher.Launch(
      LaunchSpec{PITSTOPD_PATH,
                 {"--listen", address, "--state-dir", (d / "state").string(),
                  "--drivers-dir", (d / "cars").string(), "--require-signed",
                  "--trust-dir", corpus.trust_dir(), "--log-level", "error"},
                 {"PATH=/usr/bin:/bin"},
                 d.string(),
                 {}},
      nullptr, [&](const ExitInfo&) {
        absl::MutexLock lock(&mu);
        exited = true;
      });
  REQUIRE(pid.ok());
  const std::string cli =
      std::string(PITSTOP_CLI_PATH) + " --address " + address;
  // The daemon answers once it serves (polled with a deadline).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int rc = -1;
  while (absl::Now() < deadline) {
    RunShell(cli + " drivers", &rc);
    if (rc == 0) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  REQUIRE(rc == 0);

  auto daemon_files = [&] {
    std::map<std::string, std::string> all;
    for (const char* sub : {"cars", "state/packages", "state/run"}) {
      for (auto& [k, v] : Snapshot(d / sub))
        all[std::string(sub) + "/" + k] = v;
    }
    // Snapshot skips a top-level "cars" folder: list the drivers dir itself.
    for (const auto& e : fs::directory_iterator(d / "cars")) {
      all["cars/" + e.path().filename().string()] = "present";
    }
    return all;
  };
  for (const Case& c : Cases()) {
    INFO("case: " << c.what);
    const std::string car = corpus.Car("case");
    fs::remove(car);
    c.make(corpus, car);
    const auto before = daemon_files();
    const std::string out = RunShell(cli + " install '" + car + "'", &rc);
    INFO("pitstop install: " << out);
    CHECK(rc != 0);
    CHECK(daemon_files() == before);
  }
  (void)launcher.Signal(*pid, SIGTERM);
  absl::MutexLock lock(&mu);
  REQUIRE(mu.AwaitWithTimeout(absl::Condition(&exited), absl::Seconds(30)));
}

TEST_CASE(
    "zip cannot carry hardlinks or FIFOs: they arrive as plain regular files",
    "[car][hostile]") {
  TempDir dir;
  const fs::path car = dir.path() / "links.car";
  WriteRawZip(car,
              With(GoodEntries(),
                   {{"bin/link", "", AE_IFREG, "bin/demo"}, {"bin/fifo", "x"}}),
              true);
  SetUnixMode(car, "bin/fifo", 0010644);
  const fs::path out = dir.path() / "out";
  absl::Status s = UnpackCar(car.string(), out.string());
  INFO(s.message());
  REQUIRE(s.ok());
  for (const char* name : {"bin/link", "bin/fifo"}) {
    INFO(name);
    const auto st = fs::symlink_status(out / name);
    REQUIRE(st.type() == fs::file_type::regular);
    REQUIRE(fs::hard_link_count(out / name) == 1);
  }
}

TEST_CASE("the corpus fixture's good CAR installs and verifies",
          "[car][hostile]") {
  Corpus corpus;
  const std::string car = corpus.Car("again");
  WriteRawZip(car, GoodEntries());
  corpus.Sign(car, "acme");
  auto verified = VerifyCar(car, corpus.trust_dir());
  INFO(verified.status().message());
  REQUIRE(verified.ok());
  auto installed = InstallCar(car, corpus.packages(), corpus.Policy());
  INFO(installed.status().message());
  REQUIRE(installed.ok());
  REQUIRE(installed->signer.find("CN=acme") != std::string::npos);
}

}  // namespace
}  // namespace pitstop
