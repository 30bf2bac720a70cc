#ifndef PITSTOP_SUPERVISOR_CAR_CAR_SIGNATURE_H_
#define PITSTOP_SUPERVISOR_CAR_CAR_SIGNATURE_H_

// JAR-compatible signatures of CARs, as the JDK's jarsigner makes them:
// META-INF/MANIFEST.MF lists a SHA-256 digest of every file,
// META-INF/<SIGNER>.SF the digest of the whole manifest (and of each of its
// sections), and META-INF/<SIGNER>.EC (or .RSA) is a detached CMS
// SignedData over the .SF with the signer's certificate chain.
// docs/signing.md describes the trust model.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "supervisor/car/detached_signature.h"

namespace pitstop {

// Writes a signed copy of `car_path` to `out_path` (which may be the same
// file): any earlier manifest and signature are replaced. The key and the
// certificates are PEM files; `chain_path` (may be empty) holds the
// intermediate certificates. EC and RSA keys. Errors name the file.
absl::Status SignCar(const std::string& car_path, const std::string& out_path,
                     const std::string& key_path, const std::string& cert_path,
                     const std::string& chain_path,
                     const std::string& signer_name = "PITSTOP");

// The verified signer of a CAR.
using CarSigner = Signer;

// Verifies `car_path` against the root certificates (*.pem, *.crt) in
// `trust_dir`: exactly one signer; its chain leads to a trusted root and is
// valid now; its certificate allows code signing; SHA-256 or stronger; the
// .SF's digest of the whole manifest matches; every file but the signature
// files is listed in the manifest with a matching digest, and every listed
// file exists. Digests are computed on the bytes the checked reader
// produced. INVALID_ARGUMENT (PERMISSION_DENIED for an untrusted or unfit
// signer) saying exactly what failed.
absl::StatusOr<CarSigner> VerifyCar(const std::string& car_path,
                                    const std::string& trust_dir);

// The SHA-256 of a file's content, hex. NOT_FOUND naming the file.
absl::StatusOr<std::string> Sha256File(const std::string& path);

// The SHA-256 of `data`, hex.
std::string Sha256Hex(absl::string_view data);

// The subject of a CAR's signer as its signature block names it, WITHOUT
// verifying anything (for listings such as a repository index; installs
// verify with VerifyCar). "" for an unsigned CAR; INVALID_ARGUMENT naming
// the CAR for a malformed signature block.
absl::StatusOr<std::string> UnverifiedCarSigner(const std::string& car_path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_CAR_SIGNATURE_H_
