#include "supervisor/car/code_signing_ca.h"

#include <arpa/inet.h>
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

// What a certificate is for.
struct Usage {
  bool ca = false;
  std::string extended;   // "codeSigning", "serverAuth", "" for none
  std::string alt_names;  // "DNS:host,IP:127.0.0.1", "" for none
};

Usage RootUsage() {
  Usage usage;
  usage.ca = true;
  return usage;
}

Usage LeafUsage(std::string extended, std::string alt_names = "") {
  Usage usage;
  usage.extended = std::move(extended);
  usage.alt_names = std::move(alt_names);
  return usage;
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed
// when `issuer` is null).
absl::StatusOr<CertPtr> MakeCertificate(EVP_PKEY* key, const std::string& cn,
                                        const std::string& organization,
                                        X509* issuer, EVP_PKEY* issuer_key,
                                        absl::Duration not_before,
                                        absl::Duration valid_for,
                                        const Usage& usage) {
  const bool ca = usage.ca;
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
  if (!usage.extended.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_ext_key_usage,
                                 usage.extended.c_str()));
  }
  if (!usage.alt_names.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), signer, NID_subject_alt_name,
                                 usage.alt_names.c_str()));
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
                               const std::string& organization,
                               const std::string& root_name) {
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
      MakeCertificate(key.get(), absl::StrCat(organization, " ", root_name),
                      organization, nullptr, key.get(), absl::ZeroDuration(),
                      absl::Hours(24 * 3650), RootUsage()));
  RETURN_IF_ERROR(WritePem(fs::path(dir) / "root.key", key.get(), nullptr));
  return WritePem(fs::path(dir) / "root.pem", nullptr, cert.get());
}

namespace {

absl::Status CheckFileName(const std::string& name, absl::string_view what) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.' ||
      name == "root") {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", name,
        "' must be a plain file name (no '/', not starting with '.', not "
        "'root')"));
  }
  return absl::OkStatus();
}

// Issues <dir>/<name>.key and <dir>/<name>.pem under the root in `dir`.
absl::Status Issue(const std::string& dir, const std::string& name,
                   const std::string& organization, absl::Duration not_before,
                   absl::Duration valid_for, const Usage& usage) {
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
  ASSIGN_OR_RETURN(CertPtr cert,
                   MakeCertificate(key.get(), name, organization, ca_cert.get(),
                                   ca_key.get(), not_before, valid_for, usage));
  RETURN_IF_ERROR(
      WritePem(fs::path(dir) / (name + ".key"), key.get(), nullptr));
  return WritePem(fs::path(dir) / (name + ".pem"), nullptr, cert.get());
}

}  // namespace

absl::Status IssueCodeSigningCertificate(const std::string& dir,
                                         const std::string& vendor,
                                         const IssueOptions& options) {
  RETURN_IF_ERROR(CheckFileName(vendor, "vendor name"));
  return Issue(dir, vendor, "Pitstop vendors", options.not_before,
               options.valid_for,
               LeafUsage(options.code_signing ? "codeSigning" : ""));
}

absl::Status IssueTlsCertificate(const std::string& dir,
                                 const std::string& name,
                                 const TlsCertificateOptions& options) {
  RETURN_IF_ERROR(CheckFileName(name, "certificate name"));
  std::string alt_names;
  for (const std::string& dns : options.dns_names) {
    if (dns.empty() || dns.find_first_of(",: ") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dns '", dns, "' is not a host name"));
    }
    absl::StrAppend(&alt_names, alt_names.empty() ? "" : ",", "DNS:", dns);
  }
  for (const std::string& ip : options.ip_addresses) {
    unsigned char bytes[16];
    if (::inet_pton(AF_INET, ip.c_str(), bytes) != 1 &&
        ::inet_pton(AF_INET6, ip.c_str(), bytes) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ip '", ip, "' is not an IPv4 or IPv6 address"));
    }
    absl::StrAppend(&alt_names, alt_names.empty() ? "" : ",", "IP:", ip);
  }
  if (options.server && alt_names.empty()) {
    return absl::InvalidArgumentError(
        "a server certificate needs the names clients reach it by: --dns "
        "HOST or --ip ADDRESS (clients check them, not the CN)");
  }
  return Issue(
      dir, name, "Pitstop", absl::ZeroDuration(), options.valid_for,
      LeafUsage(options.server ? "serverAuth" : "clientAuth", alt_names));
}

}  // namespace pitstop
