// libFuzzer target: the checked CAR reader on arbitrary bytes. The input is
// written to a temporary file (the reader works on paths) and read with
// small limits, so that no input can use much memory.

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "supervisor/car/car_reader.h"

namespace {

// One file per process, rewritten for every input.
const std::string& InputPath() {
  static const std::string* path = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string t =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/car-fuzz-XXXXXX";
    const int fd = ::mkstemp(t.data());
    if (fd < 0) std::abort();
    ::close(fd);
    std::atexit([] { ::unlink(InputPath().c_str()); });
    return new std::string(t);
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = InputPath();
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) std::abort();
  for (size_t off = 0; off < size;) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) std::abort();
    off += static_cast<size_t>(n);
  }
  ::close(fd);

  pitstop::UnpackLimits limits;
  limits.max_entries = 64;
  limits.max_file_bytes = 1 << 20;
  limits.max_total_bytes = 4 << 20;
  auto files = pitstop::ReadCarFiles(path, limits);
  if (files.ok()) {
    // Whatever the reader accepts must pass its own name rules.
    for (const pitstop::CarFile& f : *files) {
      if (!pitstop::CheckEntryName(f.name).ok()) std::abort();
    }
  }
  return 0;
}
