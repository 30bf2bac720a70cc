#ifndef PITSTOP_SUPERVISOR_CAR_CODE_SIGNING_CA_H_
#define PITSTOP_SUPERVISOR_CAR_CODE_SIGNING_CA_H_

// The project's certificate authorities: a root (EC P-256, root.key and
// root.pem in its directory) that issues vendor code-signing certificates
// (<vendor>.key, <vendor>.pem) or, in another directory, TLS certificates
// for pitstopd and its clients (<name>.key, <name>.pem). `pitstop ca
// init|issue|issue-tls` use it; docs/signing.md and docs/security.md give
// the equivalent openssl commands.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pitstop {

// Creates root.key (mode 0600) and root.pem in `dir`, valid 10 years.
// ALREADY_EXISTS rather than overwrite a root.
// `root_name` follows the organization in the root's CN.
absl::Status InitCodeSigningCa(
    const std::string& dir, const std::string& organization = "Pitstop",
    const std::string& root_name = "driver signing root");

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

struct TlsCertificateOptions {
  // serverAuth, with the names clients reach it by (one at least);
  // otherwise clientAuth.
  bool server = false;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  absl::Duration valid_for = absl::Hours(24 * 397);
};

// Issues <dir>/<name>.key and <dir>/<name>.pem, CN=<name>, signed by the
// root in `dir`. INVALID_ARGUMENT for a name that is not a plain file name,
// a DNS name or address that does not parse, or a server certificate
// without either.
absl::Status IssueTlsCertificate(const std::string& dir,
                                 const std::string& name,
                                 const TlsCertificateOptions& options);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_CODE_SIGNING_CA_H_
