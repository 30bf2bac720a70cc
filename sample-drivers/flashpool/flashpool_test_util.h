#ifndef PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_TEST_UTIL_H_
#define PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_TEST_UTIL_H_

// Test-only: a temporary state directory removed with its contents.

#include <ftw.h>
#include <stdlib.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace pitstop::flashpool::testing {

class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/flashpool-test-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
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

 private:
  std::string path_;
};

}  // namespace pitstop::flashpool::testing

#endif  // PITSTOP_SAMPLE_DRIVERS_FLASHPOOL_FLASHPOOL_TEST_UTIL_H_
