#include "supervisor/car/code_signing_ca.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e ? buf : "unknown OpenSSL error";
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) {
    X509_EXTENSION_free(ext);
    return absl::InternalError(
        absl::StrCat("certificate extension ", value, ": ", OpenSslError()));
  }
  X509_EXTENSION_free(ext);
  return absl::OkStatus();
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed
// when `issuer` is null).
absl::StatusOr<CertPtr> MakeCertificate(EVP_PKEY* key, const std::string& cn,
                                        const std::string& organization,
                                        X509* issuer, EVP_PKEY* issuer_key,
                                        absl::Duration not_before,
                                        absl::Duration valid_for, bool ca,
                                        bool code_signing) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                  absl::ToInt64Seconds(not_before));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  absl::ToInt64Seconds(not_before + valid_for));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "O", MBSTRING_UTF8,
      reinterpret_cast<const unsigned char*>(organization.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_basic_constraints,
                               ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(
      cert.get(), signer, NID_key_usage,
      ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
  if (code_signing) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), signer, NID_ext_key_usage, "codeSigning"));
  }
  RETURN_IF_ERROR(
      AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash"));
  if (issuer) {
    RETURN_IF_ERROR(AddExtension(cert.get(), signer,
                                 NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    return absl::InternalError(
        absl::StrCat("signing the certificate: ", OpenSslError()));
  }
  return cert;
}

absl::Status WritePem(const fs::path& path, EVP_PKEY* key, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "wx");  // never overwrite
  if (f == nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(
        "cannot create ", path.string(), ": ", std::strerror(errno)));
  }
  if (key) ::fchmod(fileno(f), 0600);
  const bool ok = key ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0,
                                             nullptr, nullptr) == 1
                      : PEM_write_X509(f, cert) == 1;
  std::fclose(f);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("writing ", path.string(), ": ", OpenSslError()));
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyPtr> ReadKey(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path.string(),
                     "; create the CA with `pitstop ca init`"));
  }
  KeyPtr key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), " holds no private key"));
  }
  return key;
}

}  // namespace

absl::Status InitCodeSigningCa(const std::string& dir,
                               const std::string& organization) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (fs::exists(fs::path(dir) / "root.key", ec)) {
    return absl::AlreadyExistsError(absl::StrCat(
        dir, " already holds a CA (root.key); use another directory"));
  }
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return absl::InternalError("generating a P-256 key failed");
  ASSIGN_OR_RETURN(
      CertPtr cert,
      MakeCertificate(key.get(),
                      absl::StrCat(organization, " driver signing root"),
                      organization, nullptr, key.get(), absl::ZeroDuration(),
                      absl::Hours(24 * 3650), /*ca=*/true,
                      /*code_signing=*/false));
  RETURN_IF_ERROR(WritePem(fs::path(dir) / "root.key", key.get(), nullptr));
  return WritePem(fs::path(dir) / "root.pem", nullptr, cert.get());
}

absl::Status IssueCodeSigningCertificate(const std::string& dir,
                                         const std::string& vendor,
                                         const IssueOptions& options) {
  if (vendor.empty() || vendor.find('/') != std::string::npos ||
      vendor[0] == '.' || vendor == "root") {
    return absl::InvalidArgumentError(absl::StrCat(
        "vendor name '", vendor,
        "' must be a plain file name (no '/', not starting with '.', not "
        "'root')"));
  }
  ASSIGN_OR_RETURN(KeyPtr ca_key, ReadKey(fs::path(dir) / "root.key"));
  FILE* f = std::fopen((fs::path(dir) / "root.pem").c_str(), "r");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", dir, "/root.pem"));
  }
  CertPtr ca_cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!ca_cert) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, "/root.pem holds no certificate"));
  }
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return absl::InternalError("generating a P-256 key failed");
  ASSIGN_OR_RETURN(
      CertPtr cert,
      MakeCertificate(key.get(), vendor, "Pitstop vendors", ca_cert.get(),
                      ca_key.get(), options.not_before, options.valid_for,
                      /*ca=*/false, options.code_signing));
  RETURN_IF_ERROR(
      WritePem(fs::path(dir) / (vendor + ".key"), key.get(), nullptr));
  return WritePem(fs::path(dir) / (vendor + ".pem"), nullptr, cert.get());
}

}  // namespace pitstop
