#include "supervisor/install/install_record.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "supervisor/install/package_loader.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// Longest record accepted; a real one is a few hundred bytes.
constexpr size_t kMaxRecordBytes = 16 * 1024;

std::string StatIdentity(const struct stat& st) {
  return absl::StrCat(st.st_dev, ":", st.st_ino, ":", st.st_size, ":",
                      st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":",
                      st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec);
}

}  // namespace

std::string CarIdentity(const std::string& car_path) {
  struct stat st;
  if (::stat(car_path.c_str(), &st) != 0) return "";
  return StatIdentity(st);
}

std::string TrustIdentity(const TrustPolicy& trust) {
  std::string out = absl::StrCat(trust.require_signed ? "signed-only" : "any",
                                 ";", trust.trust_dir);
  if (trust.trust_dir.empty()) return out;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(trust.trust_dir, ec)) {
    struct stat st;
    if (::stat(e.path().c_str(), &st) == 0) {
      files.push_back(
          absl::StrCat(e.path().filename().string(), "=", StatIdentity(st)));
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) absl::StrAppend(&out, ";", f);
  return out;
}

std::string InstallRecordPath(const std::string& packages_dir,
                              const std::string& car_path) {
  return (fs::path(packages_dir) / ".installed" / fs::path(car_path).filename())
      .string();
}

absl::StatusOr<InstallRecord> ReadInstallRecord(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no record ", path));
  std::map<std::string, std::string> fields;
  size_t total = 0;
  for (std::string line; std::getline(in, line);) {
    total += line.size() + 1;
    if (total > kMaxRecordBytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is too long"));
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  InstallRecord r;
  r.car_identity = fields["car"];
  r.trust_identity = fields["trust"];
  r.name = fields["name"];
  r.version = fields["version"];
  r.signer = fields["signer"];
  r.entrypoint_sha256 = fields["entrypoint_sha256"];
  if (r.car_identity.empty() || r.name.empty() || r.version.empty() ||
      r.entrypoint_sha256.size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is incomplete"));
  }
  return r;
}

absl::Status WriteInstallRecord(const std::string& path,
                                const InstallRecord& record) {
  for (const std::string* field :
       {&record.car_identity, &record.trust_identity, &record.name,
        &record.version, &record.signer, &record.entrypoint_sha256}) {
    if (field->find('\n') != std::string::npos) {
      return absl::InvalidArgumentError("a record field holds a newline");
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << "car=" << record.car_identity << "\n"
        << "trust=" << record.trust_identity << "\n"
        << "name=" << record.name << "\n"
        << "version=" << record.version << "\n"
        << "signer=" << record.signer << "\n"
        << "entrypoint_sha256=" << record.entrypoint_sha256 << "\n";
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return absl::InternalError(absl::StrCat("cannot rename ", temp));
  }
  return absl::OkStatus();
}

}  // namespace pitstop
