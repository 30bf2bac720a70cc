#ifndef PITSTOP_SUPERVISOR_CLI_READ_FILE_H_
#define PITSTOP_SUPERVISOR_CLI_READ_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace pitstop {

// The whole file's bytes; NOT_FOUND "cannot read PATH" when it cannot be
// opened.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_READ_FILE_H_
