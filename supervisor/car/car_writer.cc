#include "supervisor/car/car_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestPath[] = "META-INF/MANIFEST.MF";

struct WriterDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

time_t EntryTime() {
  // 2020-01-01T00:00:00Z unless the build asks for another.
  time_t t = 1577836800;
  if (const char* env = std::getenv("SOURCE_DATE_EPOCH")) {
    int64_t v = 0;
    if (absl::SimpleAtoi(env, &v) && v > 0) t = static_cast<time_t>(v);
  }
  return t;
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status AddEntry(archive* a, const std::string& name,
                      const std::string& content, mode_t mode, time_t when) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(
      archive_entry_new(), archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), mode);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
  archive_entry_set_mtime(e.get(), when, 0);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK ||
      (!content.empty() &&
       archive_write_data(a, content.data(), content.size()) !=
           static_cast<la_ssize_t>(content.size()))) {
    return absl::InternalError(
        absl::StrCat("writing entry ", name, ": ", archive_error_string(a)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PackCar(const std::string& source_dir,
                     const std::string& out_path) {
  const fs::path root(source_dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat(source_dir, " is not a directory"));
  }
  const fs::path yaml = root / "META-INF" / "driver.yaml";
  ASSIGN_OR_RETURN(DriverManifest manifest, LoadDriverManifest(yaml.string()));
  // Its mode in the source does not matter: everything under bin/ is
  // packed (and unpacked) 0755, as docs/car-format.md says.
  const fs::path entrypoint = root / manifest.entrypoint;
  if (!fs::is_regular_file(entrypoint, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(yaml.string(), ": entrypoint ", manifest.entrypoint,
                     " is not a file in ", source_dir));
  }

  // Collect and check every file before writing anything.
  std::vector<std::string> names;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    std::string rel = fs::relative(p, root, ec).generic_string();
    if (it->is_symlink(ec)) {
      return absl::InvalidArgumentError(absl::StrCat(
          p.string(), ": symlinks cannot go into a CAR; copy the file"));
    }
    if (it->is_directory(ec)) continue;
    if (!it->is_regular_file(ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat(p.string(), ": only regular files go into a CAR"));
    }
    if (absl::Status s = CheckEntryName(rel); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_dir, ": ", s.message()));
    }
    if (rel != kManifestPath) names.push_back(rel);
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("listing ", source_dir, ": ", ec.message()));
  }
  std::sort(names.begin(), names.end());

  std::string jar_manifest =
      "Manifest-Version: 1.0\r\nCreated-By: pitstop car pack\r\n\r\n";
  if (fs::exists(root / kManifestPath, ec)) {
    ASSIGN_OR_RETURN(jar_manifest, ReadFile(root / kManifestPath));
  }
  std::vector<CarFile> files;
  files.push_back({kManifestPath, std::move(jar_manifest)});
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::string content, ReadFile(root / name));
    files.push_back({name, std::move(content)});
  }
  return WriteCarFiles(files, out_path);
}

absl::Status WriteCarFiles(const std::vector<CarFile>& files,
                           const std::string& out_path) {
  std::error_code ec;
  fs::path out(out_path);
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  const std::string tmp = out_path + ".tmp";
  std::unique_ptr<archive, WriterDeleter> a(archive_write_new());
  archive_write_set_format_zip(a.get());
  archive_write_set_options(a.get(), "zip:compression=deflate");
  if (archive_write_open_filename(a.get(), tmp.c_str()) != ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ",
                                            archive_error_string(a.get())));
  }
  bool done = false;
  absl::Cleanup remove_tmp = [&] {
    if (!done) fs::remove(tmp, ec);
  };
  const time_t when = EntryTime();
  for (const CarFile& f : files) {
    const mode_t mode = absl::StartsWith(f.name, "bin/") ? 0755 : 0644;
    RETURN_IF_ERROR(AddEntry(a.get(), f.name, f.content, mode, when));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return absl::InternalError(
        absl::StrCat("finishing ", tmp, ": ", archive_error_string(a.get())));
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot move ", tmp, " to ",
                                            out_path, ": ", ec.message()));
  }
  done = true;
  return absl::OkStatus();
}

}  // namespace pitstop
