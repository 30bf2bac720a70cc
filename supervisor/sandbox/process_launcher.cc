#include "supervisor/sandbox/process_launcher.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace pitstop {

std::string ExitInfo::Describe() const {
  if (!cause.empty()) return cause;
  if (signal != 0) {
    return absl::StrCat("killed by signal ", signal, " (", strsignal(signal),
                        ")", core_dumped ? ", core dumped" : "");
  }
  return absl::StrCat("exited with status ", exit_code);
}

}  // namespace pitstop
