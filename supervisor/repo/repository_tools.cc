#include "supervisor/repo/repository_tools.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

absl::Status WriteAtomically(const fs::path& path, const std::string& bytes) {
  std::string tmp = (path.parent_path() / ".tmp-XXXXXX").string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot write beside ", path.string()));
  }
  bool ok = true;
  for (size_t off = 0; ok && off < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    ok = n > 0;
    if (ok) off += n;
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  ::chmod(tmp.c_str(), 0644);
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  return absl::OkStatus();
}

std::optional<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

absl::StatusOr<RepositoryIndex> BuildRepository(const std::string& dir,
                                                const BuildOptions& options,
                                                absl::Time now) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, " is not a directory"));
  }
  const fs::path root(dir);
  uint64_t previous = 0;
  if (auto text = ReadFile(root / kIndexFile)) {
    absl::StatusOr<RepositoryIndex> old =
        ParseIndex(*text, (root / kIndexFile).string());
    if (!old.ok() && options.version == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(old.status().message(),
                       "; pass --version to choose the new index's version"));
    }
    if (old.ok()) previous = old->version;
  }
  RepositoryIndex index;
  index.version = options.version != 0 ? options.version : previous + 1;
  if (index.version <= previous) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the index version must grow: ", dir, " already has version ", previous,
        " (got ", index.version, ")"));
  }
  index.generated = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  index.expires = index.generated + options.valid_for;
  std::vector<fs::path> cars;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".car") {
      cars.push_back(it->path());
    }
  }
  std::sort(cars.begin(), cars.end());
  for (const fs::path& car : cars) {
    const std::string rel = car.lexically_relative(root).generic_string();
    const auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(car.string(), ": ", why,
                       "; fix or remove it before building the repository"));
    };
    if (absl::Status s = CheckIndexPath(rel); !s.ok()) return bad(s.message());
    auto yaml = ReadCarEntry(car.string(), "META-INF/driver.yaml");
    if (!yaml.ok()) return bad(yaml.status().message());
    auto manifest = ParseDriverManifest(*yaml, "META-INF/driver.yaml");
    if (!manifest.ok()) return bad(manifest.status().message());
    IndexEntry e;
    e.name = manifest->name;
    e.version = manifest->version;
    e.category = std::string(CategoryName(manifest->category));
    e.length = fs::file_size(car, ec);
    if (ec) return bad("cannot read its size");
    ASSIGN_OR_RETURN(e.sha256, Sha256File(car.string()));
    e.path = rel;
    auto signer = UnverifiedCarSigner(car.string());
    if (!signer.ok()) return bad(signer.status().message());
    e.signer = *signer;
    for (const IndexEntry& other : index.entries) {
      if (other.name == e.name && other.version == e.version) {
        return bad(absl::StrCat(e.name, " ", e.version.ToString(),
                                " is also in ", other.path));
      }
    }
    index.entries.push_back(std::move(e));
  }
  const std::string text = SerializeIndex(index);
  ASSIGN_OR_RETURN(std::string signature,
                   SignDetached(text, options.key_path, options.cert_path,
                                options.chain_path));
  // The signature first: a reader between the two renames sees a new
  // signature over the old index and refuses it, never a wrong index.
  RETURN_IF_ERROR(WriteAtomically(root / kIndexSignatureFile, signature));
  RETURN_IF_ERROR(WriteAtomically(root / kIndexFile, text));
  return ParseIndex(text, (root / kIndexFile).string());
}

absl::StatusOr<VerifyReport> VerifyRepository(const std::string& url,
                                              const FetchOptions& options,
                                              absl::Time now, bool check_cars,
                                              const std::string& scratch_dir) {
  VerifyReport report;
  ASSIGN_OR_RETURN(report.index, FetchVerifiedIndex(url, options));
  ASSIGN_OR_RETURN(const std::string base, NormalizeRepositoryUrl(url));
  RETURN_IF_ERROR(CheckIndexFreshness(report.index.index, report.index.sha256,
                                      std::nullopt, now, base));
  if (!check_cars) return report;
  for (const IndexEntry& e : report.index.index.entries) {
    const std::string path =
        (fs::path(scratch_dir) / absl::StrCat(".verify-", e.name)).string();
    RETURN_IF_ERROR(FetchIndexedCar(base, e, path, options));
    std::error_code ec;
    if (!e.signer.empty()) {
      absl::StatusOr<Signer> signer = VerifyCar(path, options.trust_dir);
      fs::remove(path, ec);
      if (!signer.ok()) {
        return absl::Status(signer.status().code(),
                            absl::StrCat(JoinUrl(base, e.path), ": ",
                                         signer.status().message()));
      }
      if (signer->subject != e.signer) {
        return absl::InvalidArgumentError(
            absl::StrCat(JoinUrl(base, e.path), ": signed by ", signer->subject,
                         " but the index names ", e.signer));
      }
    }
    fs::remove(path, ec);
    ++report.cars_checked;
  }
  return report;
}

absl::StatusOr<MirrorReport> MirrorRepository(
    const std::string& url, const std::string& dir, const FetchOptions& options,
    absl::Time now, const std::function<void(const std::string&)>& progress) {
  ASSIGN_OR_RETURN(const std::string base, NormalizeRepositoryUrl(url));
  ASSIGN_OR_RETURN(VerifiedIndex fetched, FetchVerifiedIndex(base, options));
  const fs::path root(dir);
  std::optional<SeenIndex> existing;
  if (auto text = ReadFile(root / kIndexFile)) {
    if (auto old = ParseIndex(*text, (root / kIndexFile).string()); old.ok()) {
      existing = SeenIndex{old->version, Sha256Hex(*text)};
    }
  }
  RETURN_IF_ERROR(
      CheckIndexFreshness(fetched.index, fetched.sha256, existing, now, base));
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  MirrorReport report;
  report.index_version = fetched.index.version;
  for (const IndexEntry& e : fetched.index.entries) {
    const fs::path target = root / e.path;
    fs::create_directories(target.parent_path(), ec);
    if (fs::is_regular_file(target, ec) &&
        fs::file_size(target, ec) == e.length) {
      auto sha = Sha256File(target.string());
      if (sha.ok() && *sha == e.sha256) {
        ++report.kept;
        if (progress) progress(absl::StrCat("kept    ", e.path));
        continue;
      }
    }
    const std::string part = target.string() + ".part";
    RETURN_IF_ERROR(FetchIndexedCar(base, e, part, options, /*resume=*/true));
    fs::rename(part, target, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot rename ", part, " to ", target.string()));
    }
    ++report.fetched;
    if (progress) progress(absl::StrCat("fetched ", e.path));
  }
  RETURN_IF_ERROR(
      WriteAtomically(root / kIndexSignatureFile, fetched.signature));
  RETURN_IF_ERROR(WriteAtomically(root / kIndexFile, fetched.bytes));
  return report;
}

}  // namespace pitstop
