#include "supervisor/repo/repository_set.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/code_signing_ca.h"
#include "supervisor/repo/repository_tools.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A project CA, a repository signing key, a trust directory with the root,
// and a repository directory with signed CARs demo 1.0.0 and 1.1.0.
struct Fixture {
  Fixture() {
    std::string t =
        (fs::temp_directory_path() / "pitstop-repo-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    ca = dir / "ca";
    REQUIRE(InitCodeSigningCa(ca.string()).ok());
    REQUIRE(IssueCodeSigningCertificate(ca.string(), "acme").ok());
    REQUIRE(IssueCodeSigningCertificate(ca.string(), "repo").ok());
    fs::create_directories(dir / "trust");
    fs::copy_file(ca / "root.pem", dir / "trust" / "root.pem");
    repo = dir / "repo";
    fs::create_directories(repo / "cars");
    AddCar("1.0.0");
    AddCar("1.1.0");
    Build();
  }
  ~Fixture() { fs::remove_all(dir); }

  void AddCar(const std::string& version) {
    std::vector<CarFile> files = {
        {"META-INF/driver.yaml",
         "name: demo\nversion: " + version +
             "\ncategory: storage\nentrypoint: bin/demo\n"},
        {"bin/demo", "#!/bin/sh\nexit 0\n" + std::string(4096, '#')}};
    const std::string car =
        (repo / "cars" / ("demo-" + version + ".car")).string();
    REQUIRE(WriteCarFiles(files, car).ok());
    REQUIRE(SignCar(car, car, (ca / "acme.key").string(),
                    (ca / "acme.pem").string(), "")
                .ok());
  }

  RepositoryIndex Build(absl::Duration valid_for = absl::Hours(24)) {
    BuildOptions o;
    o.key_path = (ca / "repo.key").string();
    o.cert_path = (ca / "repo.pem").string();
    o.valid_for = valid_for;
    auto built = BuildRepository(repo.string(), o, absl::Now());
    INFO(built.status().message());
    REQUIRE(built.ok());
    return *built;
  }

  FetchOptions Options() const {
    FetchOptions o;
    o.trust_dir = (dir / "trust").string();
    o.timeout = absl::Seconds(10);
    o.stall_timeout = absl::Seconds(5);
    return o;
  }

  fs::path dir, ca, repo;
};

TEST_CASE("repo build lists every CAR with its length, digest and signer",
          "[repo]") {
  Fixture f;
  RepositoryIndex index = f.Build();
  REQUIRE(index.version == 2);  // the fixture built version 1
  REQUIRE(index.entries.size() == 2);
  const IndexEntry& e = index.entries[1];
  REQUIRE(e.name == "demo");
  REQUIRE(e.version.ToString() == "1.1.0");
  REQUIRE(e.category == "storage");
  REQUIRE(e.path == "cars/demo-1.1.0.car");
  REQUIRE(e.length == fs::file_size(f.repo / e.path));
  REQUIRE(e.sha256 == *Sha256File((f.repo / e.path).string()));
  REQUIRE(e.signer.find("CN=acme") != std::string::npos);
}

TEST_CASE("the newest matching CAR is fetched with the indexed digest",
          "[repo]") {
  Fixture f;
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  RepositorySet set(clock, store, f.Options());
  REQUIRE(set.Load({{"main", f.repo.string()}}).ok());
  const std::string dest = (f.dir / "dest").string();

  auto newest = set.Fetch("demo", "", dest);
  INFO(newest.status().message());
  REQUIRE(newest.ok());
  REQUIRE(newest->entry.version.ToString() == "1.1.0");
  REQUIRE(newest->repository == "main");
  REQUIRE(Slurp(newest->path) == Slurp(f.repo / "cars" / "demo-1.1.0.car"));
  REQUIRE(fs::path(newest->path).extension() != ".car");

  auto exact = set.Fetch("demo", "1.0.0", dest);
  REQUIRE(exact.ok());
  REQUIRE(exact->entry.version.ToString() == "1.0.0");
  auto range = set.Fetch("demo", "<1.1.0", dest);
  REQUIRE(range.ok());
  REQUIRE(range->entry.version.ToString() == "1.0.0");

  auto missing = set.Fetch("demo", "2.0.0", dest);
  REQUIRE(absl::IsNotFound(missing.status()));
  REQUIRE(missing.status().message().find("offered: 1.0.0 (main), 1.1.0 "
                                          "(main)") != std::string::npos);

  auto updates = set.Updates({{"demo", "1.0.0"}, {"other", "1.0.0"}});
  REQUIRE(updates.size() == 1);
  REQUIRE(updates[0].available_version == "1.1.0");
  REQUIRE(set.Updates({{"demo", "1.1.0"}}).empty());
}

TEST_CASE("a tampered, truncated or oversized CAR is refused and not kept",
          "[repo]") {
  Fixture f;
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  RepositorySet set(clock, store, f.Options());
  REQUIRE(set.Load({{"main", f.repo.string()}}).ok());
  const fs::path car = f.repo / "cars" / "demo-1.1.0.car";
  const std::string original = Slurp(car);
  const fs::path dest = f.dir / "dest";

  std::string tampered = original;
  tampered[100] ^= 1;
  std::ofstream(car, std::ios::binary | std::ios::trunc) << tampered;
  auto s = set.Fetch("demo", "1.1.0", dest.string());
  REQUIRE(absl::IsInvalidArgument(s.status()));
  REQUIRE(s.status().message().find("tampered") != std::string::npos);

  std::ofstream(car, std::ios::binary | std::ios::trunc)
      << original.substr(0, original.size() - 10);
  s = set.Fetch("demo", "1.1.0", dest.string());
  REQUIRE(absl::IsInvalidArgument(s.status()));
  REQUIRE(s.status().message().find("truncated") != std::string::npos);

  std::ofstream(car, std::ios::binary | std::ios::trunc) << original << "more";
  s = set.Fetch("demo", "1.1.0", dest.string());
  REQUIRE(absl::IsResourceExhausted(s.status()));
  REQUIRE(s.status().message().find("larger than") != std::string::npos);

  REQUIRE(fs::is_empty(dest));
}

TEST_CASE("an older index is refused after a newer one was seen", "[repo]") {
  Fixture f;
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  RepositorySet set(clock, store, f.Options());
  const std::string old_index = Slurp(f.repo / kIndexFile);
  const std::string old_sig = Slurp(f.repo / kIndexSignatureFile);
  f.Build();  // version 2
  REQUIRE(set.Load({{"main", f.repo.string()}}).ok());
  REQUIRE(set.Refresh().ok());
  REQUIRE((*store.LoadSeenIndex("main"))->version == 2);

  std::ofstream(f.repo / kIndexFile, std::ios::binary | std::ios::trunc)
      << old_index;
  std::ofstream(f.repo / kIndexSignatureFile,
                std::ios::binary | std::ios::trunc)
      << old_sig;
  absl::Status s = set.Refresh();
  REQUIRE(absl::IsFailedPrecondition(s));
  REQUIRE(s.message().find("older than version 2") != std::string::npos);
  // A new RepositorySet over the same store remembers.
  RepositorySet again(clock, store, f.Options());
  REQUIRE(again.Load({{"main", f.repo.string()}}).ok());
  REQUIRE(absl::IsFailedPrecondition(again.Refresh()));
  REQUIRE(absl::IsNotFound(
      again.Fetch("demo", "", (f.dir / "dest").string()).status()));
}

TEST_CASE("an expired index is refused and an accepted one stops serving",
          "[repo]") {
  Fixture f;
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  RepositorySet set(clock, store, f.Options());
  REQUIRE(set.Load({{"main", f.repo.string()}}).ok());
  REQUIRE(set.Refresh().ok());
  REQUIRE(set.Updates({{"demo", "1.0.0"}}).size() == 1);
  clock.Advance(absl::Hours(25));
  absl::Status s = set.Refresh();
  REQUIRE(absl::IsFailedPrecondition(s));
  REQUIRE(s.message().find("expired") != std::string::npos);
  REQUIRE(set.Updates({{"demo", "1.0.0"}}).empty());
  REQUIRE(absl::IsNotFound(
      set.Fetch("demo", "", (f.dir / "dest").string()).status()));
}

TEST_CASE("an index signed by a key outside the project's root is refused",
          "[repo]") {
  Fixture f;
  REQUIRE(InitCodeSigningCa((f.dir / "other").string()).ok());
  REQUIRE(IssueCodeSigningCertificate((f.dir / "other").string(), "evil").ok());
  BuildOptions o;
  o.key_path = (f.dir / "other" / "evil.key").string();
  o.cert_path = (f.dir / "other" / "evil.pem").string();
  REQUIRE(BuildRepository(f.repo.string(), o, absl::Now()).ok());
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  RepositorySet set(clock, store, f.Options());
  auto added = set.Add("main", f.repo.string());
  REQUIRE(absl::IsPermissionDenied(added.status()));
  REQUIRE(added.status().message().find("is not trusted") != std::string::npos);
  REQUIRE(set.List().empty());
  REQUIRE(store.LoadRepositories()->empty());

  // A changed index under a valid signature fails too.
  f.Build();
  std::ofstream(f.repo / kIndexFile, std::ios::app) << "car\tx\t1.0.0\n";
  added = set.Add("main", f.repo.string());
  REQUIRE(absl::IsInvalidArgument(added.status()));
  REQUIRE(added.status().message().find("does not verify") !=
          std::string::npos);
}

TEST_CASE("operator repositories persist, configured ones are not removed",
          "[repo]") {
  Fixture f;
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  {
    RepositorySet set(clock, store, f.Options());
    REQUIRE(set.Load({{"conf", f.repo.string()}}).ok());
    auto added = set.Add("extra", "file://" + f.repo.string() + "/");
    INFO(added.status().message());
    REQUIRE(added.ok());
    REQUIRE(added->url == "file://" + f.repo.string());
    REQUIRE(added->index->entries.size() == 2);
    REQUIRE(absl::IsAlreadyExists(set.Add("extra", f.repo.string()).status()));
    REQUIRE(absl::IsAlreadyExists(set.Add("conf", f.repo.string()).status()));
    REQUIRE(
        absl::IsInvalidArgument(set.Add("Bad Name", f.repo.string()).status()));
    REQUIRE(absl::IsFailedPrecondition(set.Remove("conf")));
    REQUIRE(absl::IsNotFound(set.Remove("nope")));
  }
  RepositorySet again(clock, store, f.Options());
  REQUIRE(again.Load({{"conf", f.repo.string()}}).ok());
  std::vector<RepositoryStatus> list = again.List();
  REQUIRE(list.size() == 2);
  REQUIRE(list[0].name == "conf");
  REQUIRE(list[0].from_config);
  REQUIRE(list[1].name == "extra");
  REQUIRE(!list[1].from_config);
  REQUIRE(!list[1].index);  // not fetched until a refresh
  REQUIRE(again.Remove("extra").ok());
  REQUIRE(store.LoadRepositories()->empty());
  REQUIRE(!store.LoadSeenIndex("extra")->has_value());
}

TEST_CASE("without trusted roots no repository is accepted", "[repo]") {
  Fixture f;
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  FetchOptions options = f.Options();
  options.trust_dir = "";
  RepositorySet set(clock, store, options);
  auto added = set.Add("main", f.repo.string());
  REQUIRE(absl::IsFailedPrecondition(added.status()));
  REQUIRE(added.status().message().find("trust_dir") != std::string::npos);
}

TEST_CASE("a mirror is a byte-for-byte copy trusted like the original",
          "[repo]") {
  Fixture f;
  const fs::path mirror = f.dir / "mirror";
  std::vector<std::string> progress;
  auto report = MirrorRepository(
      f.repo.string(), mirror.string(), f.Options(), absl::Now(),
      [&](const std::string& line) { progress.push_back(line); });
  INFO(report.status().message());
  REQUIRE(report.ok());
  REQUIRE(report->fetched == 2);
  for (const char* file : {kIndexFile, kIndexSignatureFile,
                           "cars/demo-1.0.0.car", "cars/demo-1.1.0.car"}) {
    REQUIRE(Slurp(mirror / file) == Slurp(f.repo / file));
  }
  // Resumes: an intact CAR is kept, a missing one fetched again.
  fs::remove(mirror / "cars" / "demo-1.0.0.car");
  std::ofstream(mirror / "cars" / "demo-1.0.0.car.part") << "partial";
  report = MirrorRepository(f.repo.string(), mirror.string(), f.Options(),
                            absl::Now());
  REQUIRE(report.ok());
  REQUIRE(report->kept == 1);
  REQUIRE(report->fetched == 1);
  REQUIRE(!fs::exists(mirror / "cars" / "demo-1.0.0.car.part"));
  REQUIRE(Slurp(mirror / "cars" / "demo-1.0.0.car") ==
          Slurp(f.repo / "cars" / "demo-1.0.0.car"));

  // The daemon side treats the mirror as the original, rollback rules and
  // all.
  FakeClock clock(absl::Now());
  InMemoryRepositoryStore store;
  RepositorySet set(clock, store, f.Options());
  REQUIRE(set.Load({{"main", "file://" + mirror.string()}}).ok());
  auto fetched = set.Fetch("demo", "", (f.dir / "dest").string());
  REQUIRE(fetched.ok());
  REQUIRE(VerifyCar(fetched->path, f.Options().trust_dir).ok());

  // A mirror never goes back to an older index.
  const std::string newer_index = Slurp(f.repo / kIndexFile);
  f.Build();
  REQUIRE(MirrorRepository(f.repo.string(), mirror.string(), f.Options(),
                           absl::Now())
              .ok());
  REQUIRE(Slurp(mirror / kIndexFile) != newer_index);
}

TEST_CASE("repo verify checks every CAR against the index and its signer",
          "[repo]") {
  Fixture f;
  auto ok = VerifyRepository(f.repo.string(), f.Options(), absl::Now(), true,
                             f.dir.string());
  INFO(ok.status().message());
  REQUIRE(ok.ok());
  REQUIRE(ok->cars_checked == 2);
  std::ofstream(f.repo / "cars" / "demo-1.0.0.car", std::ios::app) << "x";
  auto bad = VerifyRepository(f.repo.string(), f.Options(), absl::Now(), true,
                              f.dir.string());
  REQUIRE(!bad.ok());
  REQUIRE(bad.status().message().find("demo-1.0.0.car") != std::string::npos);
}

}  // namespace
}  // namespace pitstop
