#include "supervisor/car/car_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <system_error>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += len;
  }
  return true;
}

uint32_t Le32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// Checks the archive's frame, which libarchive does not: it finds the
// end-of-central-directory record by searching backwards and follows the
// offsets it holds, so bytes appended after the archive, a comment, or a
// file prepended to it (Janus, CVE-2017-13156) would go unnoticed and
// unsigned. A CAR starts with its first local header and ends with its
// end-of-central-directory record, without a comment, and uses no Zip64
// records. Returns the names the central directory lists, since libarchive
// takes names from the local headers without comparing.
absl::StatusOr<std::set<std::string>> CheckZipFrame(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  constexpr size_t kEocd = 22;
  if (!in || ec) {
    return absl::NotFoundError(absl::StrCat("cannot read CAR ", path));
  }
  if (size < kEocd) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a zip archive (", size, " bytes, too short)"));
  }
  // The record, plus the longest comment it could be followed by.
  const uint64_t tail_size = std::min<uint64_t>(size, kEocd + 0xffff);
  std::string tail(tail_size, '\0');
  in.seekg(static_cast<std::streamoff>(size - tail_size));
  in.read(tail.data(), static_cast<std::streamsize>(tail_size));
  unsigned char head[4] = {};
  in.seekg(0);
  in.read(reinterpret_cast<char*>(head), sizeof head);
  if (!in) return absl::InternalError(absl::StrCat("cannot read ", path));
  const size_t at = tail.size() - kEocd;
  const auto* eocd = reinterpret_cast<const unsigned char*>(&tail[at]);
  if (tail.compare(at, 4, "PK\5\6") != 0 || (eocd[20] | eocd[21]) != 0) {
    if (tail.rfind("PK\5\6") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": not a zip archive (no end-of-central-directory record; "
          "truncated?)"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": trailing bytes or a zip comment after the end of the archive; a "
        "CAR must end with its end-of-central-directory record"));
  }
  const uint64_t eocd_offset = size - kEocd;
  if (std::memcmp(head, "PK\3\4", 4) != 0 && eocd_offset != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": data before the first entry (something prepended to the "
        "archive?); a CAR must start with a zip entry"));
  }
  const uint32_t cd_size = Le32(eocd + 12);
  const uint32_t cd_offset = Le32(eocd + 16);
  const bool zip64 = cd_offset == 0xffffffffu ||
                     (at >= 20 && tail.compare(at - 20, 4, "PK\6\7") == 0);
  if (zip64) {
    // The limits keep a CAR far below what needs Zip64, and its records
    // would be one more way to point libarchive somewhere else.
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": a Zip64 archive; a CAR stays below 4 GiB and 65535 entries and "
        "must use plain zip records"));
  }
  std::set<std::string> names;
  if (uint64_t{cd_offset} + cd_size != eocd_offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": the central directory does not end where its end record begins "
        "(bytes hidden between them, or a damaged archive)"));
  }
  const auto damaged = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": damaged archive: bad central directory"));
  };
  std::string cd(cd_size, '\0');
  in.seekg(cd_offset);
  in.read(cd.data(), cd_size);
  if (!in) return damaged();
  const auto* c = reinterpret_cast<const unsigned char*>(cd.data());
  const uint16_t records = eocd[10] | eocd[11] << 8;
  size_t pos = 0;
  for (uint16_t i = 0; i < records; ++i) {
    if (cd.size() - pos < 46 || cd.compare(pos, 4, "PK\1\2") != 0) {
      return damaged();
    }
    const size_t name_len = c[pos + 28] | c[pos + 29] << 8;
    const size_t extra_len = c[pos + 30] | c[pos + 31] << 8;
    const size_t comment_len = c[pos + 32] | c[pos + 33] << 8;
    if (cd.size() - pos - 46 < name_len + extra_len + comment_len) {
      return damaged();
    }
    std::string name = cd.substr(pos + 46, name_len);
    // Checked as written, before libarchive rewrites anything (it turns a
    // backslash into a slash, for one).
    if (absl::Status s = CheckEntryName(name); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": central directory ", s.message()));
    }
    names.insert(std::move(name));
    pos += 46 + name_len + extra_len + comment_len;
  }
  if (pos != cd.size()) return damaged();
  return names;
}

// `central_names`, when given, receives the central directory's names.
absl::StatusOr<ArchivePtr> OpenZip(
    const std::string& path, std::set<std::string>* central_names = nullptr) {
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read CAR ", path,
                                            ": no such file or not readable"));
  }
  ASSIGN_OR_RETURN(std::set<std::string> names, CheckZipFrame(path));
  if (central_names != nullptr) *central_names = std::move(names);
  ArchivePtr a(archive_read_new());
  // Only zip, read through its central directory; no filters.
  archive_read_support_format_zip_seekable(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) !=
      ARCHIVE_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a zip archive: ",
        archive_error_string(a.get()) ? archive_error_string(a.get())
                                      : "unknown error"));
  }
  return a;
}

std::string ArchiveError(archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown error";
}

}  // namespace

absl::Status CheckEntryName(absl::string_view name) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("entry '", absl::CHexEscape(name), "': ", why));
  };
  if (name.empty()) return bad("empty name");
  if (!ValidUtf8(name)) return bad("name is not valid UTF-8");
  if (name.find('\0') != absl::string_view::npos) return bad("name holds NUL");
  if (name.find('\\') != absl::string_view::npos) {
    return bad("name holds a backslash");
  }
  if (name[0] == '/') return bad("absolute path");
  absl::string_view trimmed = name;
  if (trimmed.back() == '/') trimmed.remove_suffix(1);
  std::vector<absl::string_view> parts = absl::StrSplit(trimmed, '/');
  for (absl::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") {
      return bad("empty, '.' or '..' path component");
    }
    for (char c : part) {
      if (static_cast<unsigned char>(c) < 0x20) {
        return bad("control character in name");
      }
    }
  }
  static constexpr absl::string_view kTopLevel[] = {"META-INF", "bin", "lib",
                                                    "resources"};
  bool allowed = false;
  for (absl::string_view top : kTopLevel) allowed = allowed || parts[0] == top;
  if (!allowed) {
    return bad(
        "outside the allowed top-level folders META-INF/, bin/, lib/, "
        "resources/");
  }
  return absl::OkStatus();
}

namespace {

// What WalkCar reports. Each callback may stop the walk with an error.
struct EntrySink {
  std::function<absl::Status(const std::string& name)> on_directory;
  std::function<absl::Status(const std::string& name)> on_file_start;
  std::function<absl::Status(const std::string& name, absl::string_view)>
      on_data;
  std::function<absl::Status(const std::string& name)> on_file_end;
};

// One pass over a CAR's entries for WalkCar: the counters the limits apply
// to, and the names seen so far.
class CarWalk {
 public:
  CarWalk(const std::string& car_path, const UnpackLimits& limits,
          const EntrySink& sink, archive* a,
          std::set<std::string> central_names)
      : car_path_(car_path),
        limits_(limits),
        sink_(sink),
        a_(a),
        central_names_(std::move(central_names)) {
    std::error_code ec;
    archive_bytes_ = fs::file_size(car_path, ec);
  }

  absl::Status Run() {
    archive_entry* entry = nullptr;
    while (true) {
      int r = archive_read_next_header(a_, &entry);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) {
        // ARCHIVE_WARN too: libarchive reports size and CRC mismatches as
        // warnings.
        return absl::InvalidArgumentError(
            absl::StrCat(car_path_, ": damaged archive: ", ArchiveError(a_)));
      }
      RETURN_IF_ERROR(WalkEntry(entry));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Bad(absl::string_view entry, absl::string_view why) const {
    return absl::InvalidArgumentError(absl::StrCat(
        car_path_, ": entry '", absl::CHexEscape(entry), "': ", why));
  }

  // One entry, whose header has just been read.
  absl::Status WalkEntry(archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    std::string name = raw_name ? raw_name : "";
    RETURN_IF_ERROR(CheckHeader(entry, name));
    std::string trimmed = name;
    if (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
    if (!seen_.insert(absl::AsciiStrToLower(trimmed)).second) {
      return Bad(name, "duplicate name (names must differ after case folding)");
    }
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) return sink_.on_directory(trimmed);
    if (type != AE_IFREG) {
      return Bad(name,
                 "only regular files and directories are allowed "
                 "(symlinks, hardlinks and devices are not)");
    }
    if (archive_entry_hardlink(entry) != nullptr) {
      return Bad(name, "hardlinks are not allowed");
    }
    return ReadFileData(name);
  }

  // The entry count, the name as the central directory and the naming
  // rules see it, and encryption.
  absl::Status CheckHeader(archive_entry* entry, const std::string& name) {
    if (++entries_ > limits_.max_entries) {
      return Bad(name,
                 absl::StrCat("more than ", limits_.max_entries, " entries"));
    }
    if (!central_names_.empty() && central_names_.count(name) == 0) {
      // A name other tools (jarsigner, unzip) would read differently.
      return Bad(name,
                 "the local header's name is not in the central directory");
    }
    if (absl::Status s = CheckEntryName(name); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(car_path_, ": ", s.message()));
    }
    if (archive_entry_is_encrypted(entry)) return Bad(name, "encrypted entry");
    return absl::OkStatus();
  }

  // A regular file's bytes, counted against the limits as they are
  // produced.
  absl::Status ReadFileData(const std::string& name) {
    RETURN_IF_ERROR(sink_.on_file_start(name));
    uint64_t file_bytes = 0;
    while (true) {
      la_ssize_t n = archive_read_data(a_, buffer_.data(), buffer_.size());
      if (n == 0) break;
      if (n < 0) {
        return Bad(name, absl::StrCat("cannot read: ", ArchiveError(a_)));
      }
      file_bytes += n;
      total_ += n;
      RETURN_IF_ERROR(CheckSizes(name, file_bytes));
      RETURN_IF_ERROR(
          sink_.on_data(name, absl::string_view(buffer_.data(), n)));
    }
    return sink_.on_file_end(name);
  }

  absl::Status CheckSizes(const std::string& name, uint64_t file_bytes) const {
    if (file_bytes > limits_.max_file_bytes) {
      return Bad(
          name, absl::StrCat("larger than ", limits_.max_file_bytes, " bytes"));
    }
    if (total_ > limits_.max_total_bytes) {
      return Bad(name, absl::StrCat("archive unpacks to more than ",
                                    limits_.max_total_bytes, " bytes"));
    }
    if (archive_bytes_ > 0 &&
        total_ > limits_.max_expansion_ratio * archive_bytes_ + (1 << 20)) {
      return Bad(name, absl::StrCat("archive expands more than ",
                                    limits_.max_expansion_ratio,
                                    " times (a zip bomb?)"));
    }
    return absl::OkStatus();
  }

  // Constant after construction
  const std::string& car_path_;
  const UnpackLimits& limits_;
  const EntrySink& sink_;
  archive* const a_;
  const std::set<std::string> central_names_;
  uint64_t archive_bytes_ = 0;

  // Updated entry by entry
  std::set<std::string> seen_;  // case-folded names
  uint64_t total_ = 0;
  uint32_t entries_ = 0;
  std::vector<char> buffer_ = std::vector<char>(64 * 1024);
};

// Reads every entry of `car_path` through all the checks of the unpacking
// rules (types, names, duplicates, sizes counted on the bytes produced,
// warnings as errors) and hands names and bytes to `sink`.
absl::Status WalkCar(const std::string& car_path, const UnpackLimits& limits,
                     const EntrySink& sink) {
  std::set<std::string> central_names;
  ASSIGN_OR_RETURN(ArchivePtr a, OpenZip(car_path, &central_names));
  return CarWalk(car_path, limits, sink, a.get(), std::move(central_names))
      .Run();
}

}  // namespace

absl::Status UnpackCar(const std::string& car_path, const std::string& dest_dir,
                       const UnpackLimits& limits) {
  std::error_code ec;
  if (fs::exists(dest_dir, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("cannot unpack into ", dest_dir, ": it already exists"));
  }
  if (::access(car_path.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read CAR ", car_path,
                                            ": no such file or not readable"));
  }
  fs::path dest(dest_dir);
  fs::create_directories(dest.parent_path(), ec);
  std::string staging_template =
      (dest.parent_path() /
       absl::StrCat(".staging-", dest.filename().string(), "-XXXXXX"))
          .string();
  if (::mkdtemp(staging_template.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a staging directory beside ", dest_dir,
                     ": ", std::strerror(errno)));
  }
  const fs::path staging(staging_template);
  bool committed = false;
  absl::Cleanup remove_staging = [&] {
    if (!committed) fs::remove_all(staging, ec);
  };
  auto failed = [&](const std::string& name, absl::string_view why) {
    return absl::InternalError(
        absl::StrCat(car_path, ": entry '", name, "': ", why));
  };

  int fd = -1;
  absl::Cleanup close_fd = [&fd] {
    if (fd >= 0) ::close(fd);
  };
  mode_t mode = 0644;
  EntrySink sink;
  sink.on_directory = [&](const std::string& name) -> absl::Status {
    fs::create_directories(staging / name, ec);
    if (ec) return failed(name, absl::StrCat("cannot create: ", ec.message()));
    return absl::OkStatus();
  };
  sink.on_file_start = [&](const std::string& name) -> absl::Status {
    const fs::path target = staging / name;
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return failed(name, absl::StrCat("cannot create folder: ", ec.message()));
    }
    mode = absl::StartsWith(name, "bin/") ? 0755 : 0644;
    fd = ::open(target.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
      return failed(name,
                    absl::StrCat("cannot create: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  };
  sink.on_data = [&](const std::string& name,
                     absl::string_view chunk) -> absl::Status {
    for (size_t off = 0; off < chunk.size();) {
      ssize_t w = ::write(fd, chunk.data() + off, chunk.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return failed(name, absl::StrCat("writing: ", std::strerror(errno)));
      }
      off += w;
    }
    return absl::OkStatus();
  };
  sink.on_file_end = [&](const std::string&) -> absl::Status {
    ::fchmod(fd, mode);  // Not subject to the umask.
    ::close(fd);
    fd = -1;
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(WalkCar(car_path, limits, sink));

  // Directories 0755 whatever the umask, as the files have their modes: the
  // driver's uid reads the tree. It holds only what the walk made.
  for (fs::recursive_directory_iterator it(staging, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms(0755), ec);
    }
  }
  fs::permissions(staging, fs::perms(0755), ec);
  fs::rename(staging, dest, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot move ", staging.string(),
                                            " to ", dest_dir, ": ",
                                            ec.message()));
  }
  committed = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CarFile>> ReadCarFiles(const std::string& car_path,
                                                  const UnpackLimits& limits) {
  std::vector<CarFile> files;
  EntrySink sink;
  sink.on_directory = [](const std::string&) { return absl::OkStatus(); };
  sink.on_file_start = [&](const std::string& name) {
    files.push_back(CarFile{name, ""});
    return absl::OkStatus();
  };
  sink.on_data = [&](const std::string&, absl::string_view chunk) {
    files.back().content.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  };
  sink.on_file_end = [](const std::string&) { return absl::OkStatus(); };
  RETURN_IF_ERROR(WalkCar(car_path, limits, sink));
  return files;
}

absl::StatusOr<std::string> ReadCarEntry(const std::string& car_path,
                                         absl::string_view entry_name,
                                         uint64_t max_bytes) {
  ASSIGN_OR_RETURN(ArchivePtr a, OpenZip(car_path));
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat(car_path, ": damaged archive: ", ArchiveError(a.get())));
    }
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr || entry_name != name) continue;
    std::string out;
    char buf[16 * 1024];
    while (true) {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n == 0) break;
      if (n < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            car_path, ": entry '", entry_name, "': ", ArchiveError(a.get())));
      }
      out.append(buf, n);
      if (out.size() > max_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat(car_path, ": entry '", entry_name, "' is larger than ",
                         max_bytes, " bytes"));
      }
    }
    return out;
  }
  return absl::NotFoundError(
      absl::StrCat(car_path, " has no entry '", entry_name, "'"));
}

}  // namespace pitstop
