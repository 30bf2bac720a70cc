#ifndef PITSTOP_SUPERVISOR_CAR_CODE_SIGNING_CA_H_
#define PITSTOP_SUPERVISOR_CAR_CODE_SIGNING_CA_H_

// The project's certificate authority for driver signing: a root (EC P-256,
// root.key and root.pem in its directory) that issues vendor code-signing
// certificates (<vendor>.key, <vendor>.pem). `pitstop ca init|issue` use
// it; docs/signing.md gives the equivalent openssl commands.

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pitstop {

// Creates root.key (mode 0600) and root.pem in `dir`, valid 10 years.
// ALREADY_EXISTS rather than overwrite a root.
absl::Status InitCodeSigningCa(const std::string& dir,
                               const std::string& organization = "Pitstop");

struct IssueOptions {
  // Extended key usage codeSigning (off only to test refusals).
  bool code_signing = true;
  // Validity, from not_before (relative to now) for `valid_for`.
  absl::Duration not_before = absl::ZeroDuration();
  absl::Duration valid_for = absl::Hours(24 * 730);
};

// Issues <dir>/<vendor>.key and <dir>/<vendor>.pem, signed by the root in
// `dir`, with subject CN=<vendor>. INVALID_ARGUMENT for a vendor name that
// is not a plain file name.
absl::Status IssueCodeSigningCertificate(const std::string& dir,
                                         const std::string& vendor,
                                         const IssueOptions& options = {});

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_CODE_SIGNING_CA_H_
