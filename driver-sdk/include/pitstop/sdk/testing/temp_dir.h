#ifndef PITSTOP_SDK_TESTING_TEMP_DIR_H_
#define PITSTOP_SDK_TESTING_TEMP_DIR_H_

// Test-only, header-only: a fresh directory for a driver's state in unit
// tests. Not linked into drivers.

#include <ftw.h>
#include <stdlib.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace pitstop::sdk::testing {

// A new directory under $TMPDIR or /tmp, removed with its contents on
// destruction. Paths stay short enough for Unix sockets. Throws
// std::runtime_error if the directory cannot be created.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
        "/sdk-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + templ);
    }
    path_ = templ;
  }
  ~TempDir() {
    nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, struct FTW*) {
          return std::remove(p);
        },
        16, FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pitstop::sdk::testing

#endif  // PITSTOP_SDK_TESTING_TEMP_DIR_H_
