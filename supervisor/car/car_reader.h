#ifndef PITSTOP_SUPERVISOR_CAR_CAR_READER_H_
#define PITSTOP_SUPERVISOR_CAR_CAR_READER_H_

// Reading CARs (driver archives, JAR-compatible zips). Only the zip format is
// enabled; only regular files and directories under META-INF/, bin/, lib/ and
// resources/ are accepted; every name is checked before anything is written;
// sizes are counted on the bytes actually produced. Signature checks are a
// separate layer on top of this one.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop {

struct UnpackLimits {
  uint32_t max_entries = 10'000;
  uint64_t max_file_bytes = 256ull << 20;
  uint64_t max_total_bytes = 1ull << 30;
  // Unpacked bytes per byte of archive.
  uint64_t max_expansion_ratio = 200;
};

// Checks one entry name: valid UTF-8, no NUL or backslash, relative, no
// empty, "." or ".." component, and under an allowed top-level folder.
// INVALID_ARGUMENT naming the entry otherwise.
absl::Status CheckEntryName(absl::string_view name);

// Unpacks `car_path` into `dest_dir`, which must not exist yet: entries are
// written into a fresh 0700 staging directory beside it, which is renamed
// into place only when every entry was read. On failure nothing is left
// behind. Files under bin/ get mode 0755, all others 0644; directories 0755.
// Errors: NOT_FOUND (no archive), INVALID_ARGUMENT (a bad or hostile
// archive, naming the entry), ALREADY_EXISTS (dest_dir exists), INTERNAL
// (I/O).
absl::Status UnpackCar(const std::string& car_path, const std::string& dest_dir,
                       const UnpackLimits& limits = {});

// One file of a CAR, as its checked reader produced it.
struct CarFile {
  std::string name;
  std::string content;
};

// Reads every file of `car_path` into memory, in archive order, with the same
// checks as UnpackCar. For signing and verifying; CARs are small, and the
// limits bound the memory.
absl::StatusOr<std::vector<CarFile>> ReadCarFiles(
    const std::string& car_path, const UnpackLimits& limits = {});

// Returns the content of one entry, e.g. "META-INF/driver.yaml", without
// unpacking anything. NOT_FOUND if the archive lacks it.
absl::StatusOr<std::string> ReadCarEntry(const std::string& car_path,
                                         absl::string_view entry_name,
                                         uint64_t max_bytes = 1 << 20);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_CAR_READER_H_
