#ifndef PITSTOP_SUPERVISOR_COMMON_CHECK_H_
#define PITSTOP_SUPERVISOR_COMMON_CHECK_H_

// CHECK(cond) aborts with the file, line and condition when an invariant is
// broken. It is for bugs only: expected failures return absl::Status.

#include <cstdio>
#include <cstdlib>

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                  \
      std::abort();                                                         \
    }                                                                       \
  } while (false)

#endif  // PITSTOP_SUPERVISOR_COMMON_CHECK_H_
