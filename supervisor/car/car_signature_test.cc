#include "supervisor/car/car_signature.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/code_signing_ca.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// A CA with a trust directory holding only its root, a vendor certificate,
// and a small packed CAR.
struct Fixture {
  Fixture() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-sign-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    ca = dir / "ca";
    REQUIRE(InitCodeSigningCa(ca.string()).ok());
    REQUIRE(IssueCodeSigningCertificate(ca.string(), "acme").ok());
    fs::create_directories(dir / "trust");
    fs::copy_file(ca / "root.pem", dir / "trust" / "root.pem");
    fs::path src = dir / "src";
    fs::create_directories(src / "META-INF");
    fs::create_directories(src / "bin");
    std::ofstream(src / "META-INF" / "driver.yaml")
        << "name: demo\nversion: 1.0.0\ncategory: storage\nentrypoint: "
           "bin/demo\n";
    std::ofstream(src / "bin" / "demo") << "#!/bin/sh\nexit 0\n";
    ::chmod((src / "bin" / "demo").c_str(), 0755);
    fs::create_directories(src / "resources");
    std::ofstream(src / "resources" /
                  ("long-name-" + std::string(80, 'x') + ".properties"))
        << "a=b\n";
    car = (dir / "demo.car").string();
    REQUIRE(PackCar(src.string(), car).ok());
  }
  ~Fixture() { fs::remove_all(dir); }

  absl::Status Sign(const std::string& vendor, const std::string& out) {
    return SignCar(car, out, (ca / (vendor + ".key")).string(),
                   (ca / (vendor + ".pem")).string(), "");
  }
  absl::StatusOr<CarSigner> Verify(const std::string& path) {
    return VerifyCar(path, (dir / "trust").string());
  }
  // Rewrites `path` after `change` edits its files.
  void Edit(const std::string& path,
            const std::function<void(std::vector<CarFile>&)>& change) {
    auto files = ReadCarFiles(path);
    REQUIRE(files.ok());
    change(*files);
    REQUIRE(WriteCarFiles(*files, path).ok());
  }

  fs::path dir, ca;
  std::string car;
};

TEST_CASE("a CAR signed by pitstop verifies and names its signer", "[car]") {
  Fixture f;
  const std::string signed_car = (f.dir / "signed.car").string();
  REQUIRE(f.Sign("acme", signed_car).ok());
  auto signer = f.Verify(signed_car);
  INFO(signer.status().message());
  REQUIRE(signer.ok());
  REQUIRE(signer->subject.find("CN=acme") != std::string::npos);
  REQUIRE(signer->issuer.find("driver signing root") != std::string::npos);
  REQUIRE(signer->certificate_sha256.size() == 64);
  // Signing again replaces the signature rather than adding one.
  REQUIRE(SignCar(signed_car, signed_car, (f.ca / "acme.key").string(),
                  (f.ca / "acme.pem").string(), "")
              .ok());
  REQUIRE(f.Verify(signed_car).ok());
}

TEST_CASE("tampered, extended, shortened and unsigned CARs are refused",
          "[car]") {
  struct Case {
    const char* what;
    std::function<void(std::vector<CarFile>&)> change;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"a changed file",
       [](std::vector<CarFile>& fs) {
         for (auto& c : fs) {
           if (c.name == "bin/demo") c.content += "rm -rf /\n";
         }
       },
       "bin/demo was changed after signing"},
      {"a file added after signing",
       [](std::vector<CarFile>& fs) {
         fs.push_back({"bin/extra", "evil"});
       },
       "bin/extra is not listed in the manifest"},
      {"a file removed after signing",
       [](std::vector<CarFile>& fs) {
         fs.erase(std::remove_if(
                      fs.begin(), fs.end(),
                      [](const CarFile& c) { return c.name == "bin/demo"; }),
                  fs.end());
       },
       "bin/demo is listed in the manifest but missing"},
      {"a changed manifest",
       [](std::vector<CarFile>& fs) {
         for (auto& c : fs) {
           if (c.name == "META-INF/MANIFEST.MF") c.content += "X-Evil: 1\r\n";
         }
       },
       "META-INF/MANIFEST.MF was changed after signing"},
      {"a damaged signature block",
       [](std::vector<CarFile>& fs) {
         for (auto& c : fs) {
           if (c.name == "META-INF/PITSTOP.EC")
             c.content[c.content.size() / 2] ^= 1;
         }
       },
       "PITSTOP"},
      {"a second signer",
       [](std::vector<CarFile>& fs) {
         fs.push_back({"META-INF/OTHER.SF", "Signature-Version: 1.0\r\n\r\n"});
       },
       "more than one signature"},
      {"no signature at all",
       [](std::vector<CarFile>& fs) {
         fs.erase(std::remove_if(fs.begin(), fs.end(),
                                 [](const CarFile& c) {
                                   return c.name.rfind("META-INF/PITSTOP", 0) ==
                                          0;
                                 }),
                  fs.end());
       },
       "not signed"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Fixture f;
    const std::string car = (f.dir / "case.car").string();
    REQUIRE(f.Sign("acme", car).ok());
    f.Edit(car, c.change);
    auto signer = f.Verify(car);
    REQUIRE(!signer.ok());
    INFO(signer.status().message());
    REQUIRE(signer.status().message().find(c.expected) != std::string::npos);
  }
}

TEST_CASE(
    "signers outside the trust store or without code signing are "
    "refused",
    "[car]") {
  Fixture f;
  const std::string car = (f.dir / "s.car").string();
  SECTION("a certificate from another CA") {
    REQUIRE(InitCodeSigningCa((f.dir / "rogue").string()).ok());
    REQUIRE(IssueCodeSigningCertificate((f.dir / "rogue").string(), "mallory")
                .ok());
    REQUIRE(SignCar(f.car, car, (f.dir / "rogue" / "mallory.key").string(),
                    (f.dir / "rogue" / "mallory.pem").string(), "")
                .ok());
    auto s = f.Verify(car);
    REQUIRE(s.status().code() == absl::StatusCode::kPermissionDenied);
    REQUIRE(s.status().message().find("CN=mallory") != std::string::npos);
    REQUIRE(s.status().message().find("is not trusted") != std::string::npos);
  }
  SECTION("a certificate without the code-signing usage") {
    IssueOptions o;
    o.code_signing = false;
    REQUIRE(IssueCodeSigningCertificate(f.ca.string(), "plain", o).ok());
    REQUIRE(f.Sign("plain", car).ok());
    auto s = f.Verify(car);
    REQUIRE(s.status().code() == absl::StatusCode::kPermissionDenied);
    REQUIRE(s.status().message().find("no code-signing certificate") !=
            std::string::npos);
  }
  SECTION("an expired certificate") {
    IssueOptions o;
    o.not_before = -absl::Hours(24 * 400);
    o.valid_for = absl::Hours(24 * 30);
    REQUIRE(IssueCodeSigningCertificate(f.ca.string(), "old", o).ok());
    REQUIRE(f.Sign("old", car).ok());
    auto s = f.Verify(car);
    REQUIRE(s.status().code() == absl::StatusCode::kPermissionDenied);
    REQUIRE(s.status().message().find("expired") != std::string::npos);
  }
  SECTION("a key that does not match the certificate") {
    REQUIRE(IssueCodeSigningCertificate(f.ca.string(), "other").ok());
    auto s = SignCar(f.car, car, (f.ca / "other.key").string(),
                     (f.ca / "acme.pem").string(), "");
    REQUIRE(s.code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(s.message().find("does not belong") != std::string::npos);
  }
}

std::string Run(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  out += "\nexit=" + std::to_string(::pclose(p));
  return out;
}

TEST_CASE("pitstop and the JDK's jarsigner accept each other's signatures",
          "[car]") {
  // The JDK is part of the build machine (openjdk-17-jdk-headless).
  REQUIRE(::access("/usr/bin/jarsigner", X_OK) == 0);
  Fixture f;
  const std::string ours = (f.dir / "ours.car").string();
  REQUIRE(f.Sign("acme", ours).ok());
  const std::string verified = Run("/usr/bin/jarsigner -verify " + ours);
  INFO(verified);
  REQUIRE(verified.find("jar verified.") != std::string::npos);

  const std::string p12 = (f.dir / "acme.p12").string();
  const std::string made =
      Run("openssl pkcs12 -export -inkey " + (f.ca / "acme.key").string() +
          " -in " + (f.ca / "acme.pem").string() + " -certfile " +
          (f.ca / "root.pem").string() +
          " -name acme -passout pass:secret -out " + p12);
  INFO(made);
  REQUIRE(made.find("exit=0") != std::string::npos);
  const std::string theirs = (f.dir / "theirs.car").string();
  fs::copy_file(f.car, theirs);
  const std::string signed_by_jdk =
      Run("/usr/bin/jarsigner -keystore " + p12 +
          " -storetype PKCS12 -storepass secret -digestalg SHA-256 " + theirs +
          " acme");
  INFO(signed_by_jdk);
  REQUIRE(signed_by_jdk.find("exit=0") != std::string::npos);
  auto signer = f.Verify(theirs);
  INFO(signer.status().message());
  REQUIRE(signer.ok());
  REQUIRE(signer->subject.find("CN=acme") != std::string::npos);
}

}  // namespace
}  // namespace pitstop
