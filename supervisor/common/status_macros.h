#ifndef PITSTOP_SUPERVISOR_COMMON_STATUS_MACROS_H_
#define PITSTOP_SUPERVISOR_COMMON_STATUS_MACROS_H_

// RETURN_IF_ERROR and ASSIGN_OR_RETURN, which Abseil 20220623 lacks.
//
//   RETURN_IF_ERROR(WriteFile(path));
//   ASSIGN_OR_RETURN(Manifest m, ParseManifest(text));

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PITSTOP_CONCAT_INNER(a, b) a##b
#define PITSTOP_CONCAT(a, b) PITSTOP_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status pitstop_status_ = (expr); \
    if (!pitstop_status_.ok()) {             \
      return pitstop_status_;                \
    }                                        \
  } while (false)

#define PITSTOP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) {                                    \
    return std::move(tmp).status();                   \
  }                                                   \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr)                                          \
  PITSTOP_ASSIGN_OR_RETURN_IMPL(PITSTOP_CONCAT(pitstop_statusor_, __LINE__), \
                                lhs, expr)

#endif  // PITSTOP_SUPERVISOR_COMMON_STATUS_MACROS_H_
