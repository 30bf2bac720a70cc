#include "supervisor/cli/read_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace pitstop {

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace pitstop
