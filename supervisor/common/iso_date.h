#ifndef PITSTOP_SUPERVISOR_COMMON_ISO_DATE_H_
#define PITSTOP_SUPERVISOR_COMMON_ISO_DATE_H_

// ISO 8601 dates and date-times for property values.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pitstop {

struct IsoDate {
  // "2026-01-31" for a date; "2026-01-31T10:00:00Z" (UTC, fraction kept)
  // for a date-time.
  std::string canonical;
  // Midnight UTC for a date.
  absl::Time instant;
  bool has_time = false;
};

// Accepts "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM[:SS[.fraction]]" followed by
// "Z" or an offset "+HH:MM" / "-HH:MM". Checks real calendar days (leap
// years) and ranges; a date-time without a zone is refused rather than
// guessed. INVALID_ARGUMENT saying why.
absl::StatusOr<IsoDate> ParseIsoDate(absl::string_view text);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_COMMON_ISO_DATE_H_
