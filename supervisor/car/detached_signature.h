#ifndef PITSTOP_SUPERVISOR_CAR_DETACHED_SIGNATURE_H_
#define PITSTOP_SUPERVISOR_CAR_DETACHED_SIGNATURE_H_

// Detached CMS (PKCS #7) SignedData over a byte string, signed with a key
// whose certificate chains to the project's root: the signature block of a
// signed CAR (over its .SF file) and the signature of a repository index
// (docs/repository.md) are both made and checked here. Stateless; every
// function is thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pitstop {

// A verified signer.
struct Signer {
  std::string subject;  // e.g. "CN=Example Storage,O=Pitstop vendors"
  std::string issuer;
  absl::Time not_after;
  std::string certificate_sha256;  // hex
};

// A detached CMS SignedData (DER) over `data`, by the key and certificate in
// the PEM files `key_path` and `cert_path`, carrying the intermediate
// certificates in `chain_path` (may be empty). EC and RSA keys, SHA-256.
// NOT_FOUND / INVALID_ARGUMENT naming the file.
absl::StatusOr<std::string> SignDetached(absl::string_view data,
                                         const std::string& key_path,
                                         const std::string& cert_path,
                                         const std::string& chain_path);

// The key type of the PEM private key in `key_path`: "EC" or "RSA" (the
// extension of a CAR's signature block). INVALID_ARGUMENT for other keys.
absl::StatusOr<std::string> SigningKeyType(const std::string& key_path);

// Verifies `signature` (a detached CMS SignedData, DER) over `data` against
// the root certificates (*.pem, *.crt) in `trust_dir`: exactly one signer,
// SHA-256 or stronger, its chain leads to a trusted root and is valid now,
// and its certificate has the code-signing extended key usage.
// `signature_name` and `data_name` name the two in errors (e.g.
// "META-INF/X.EC" and "META-INF/X.SF"). INVALID_ARGUMENT for a malformed or
// failing signature, PERMISSION_DENIED for an untrusted or unfit signer,
// FAILED_PRECONDITION when `trust_dir` holds no root.
absl::StatusOr<Signer> VerifyDetached(absl::string_view signature,
                                      absl::string_view data,
                                      const std::string& trust_dir,
                                      absl::string_view signature_name,
                                      absl::string_view data_name);

// The subject of the (single) signer's certificate in a detached CMS
// signature, without verifying anything: for listings only, never for
// trust decisions. INVALID_ARGUMENT when it is not a CMS signature.
absl::StatusOr<std::string> UnverifiedSignerSubject(
    absl::string_view signature);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_DETACHED_SIGNATURE_H_
