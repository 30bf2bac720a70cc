#include "supervisor/car/detached_signature.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo,
                               Deleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using StorePtr =
    std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX,
                    Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

void FreeCertStack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using CertStack =
    std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), FreeCertStack>>;

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

absl::StatusOr<std::vector<X509Ptr>> ReadCerts(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<X509Ptr> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(x);
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no PEM certificate"));
  }
  return certs;
}

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

absl::StatusOr<KeyPtr> ReadKey(const std::string& key_path) {
  BioPtr key_bio(BIO_new_file(key_path.c_str(), "r"));
  if (!key_bio)
    return absl::NotFoundError(absl::StrCat("cannot read ", key_path));
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_path, " holds no PEM private key: ", OpenSslError()));
  }
  return key;
}

CmsPtr ParseCms(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) ERR_clear_error();
  return cms;
}

}  // namespace

absl::StatusOr<std::string> SigningKeyType(const std::string& key_path) {
  ASSIGN_OR_RETURN(KeyPtr key, ReadKey(key_path));
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_EC:
      return std::string("EC");
    case EVP_PKEY_RSA:
      return std::string("RSA");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(key_path, ": only EC and RSA keys can sign"));
  }
}

absl::StatusOr<std::string> SignDetached(absl::string_view data,
                                         const std::string& key_path,
                                         const std::string& cert_path,
                                         const std::string& chain_path) {
  RETURN_IF_ERROR(SigningKeyType(key_path).status());
  ASSIGN_OR_RETURN(KeyPtr key, ReadKey(key_path));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, ReadCerts(cert_path));
  CertStack chain(sk_X509_new_null());
  if (!chain_path.empty()) {
    ASSIGN_OR_RETURN(std::vector<X509Ptr> extra, ReadCerts(chain_path));
    for (X509Ptr& c : extra) sk_X509_push(chain.get(), c.release());
  }
  if (X509_check_private_key(certs[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("the key in ", key_path,
                     " does not belong to the certificate in ", cert_path));
  }
  BioPtr in(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  CmsPtr cms(CMS_sign(certs[0].get(), key.get(), chain.get(), in.get(),
                      CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP));
  if (!cms) {
    return absl::InternalError(
        absl::StrCat("signing failed: ", OpenSslError()));
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (i2d_CMS_bio(out.get(), cms.get()) != 1) {
    return absl::InternalError(
        absl::StrCat("encoding the signature: ", OpenSslError()));
  }
  char* der = nullptr;
  long der_len = BIO_get_mem_data(out.get(), &der);
  return std::string(der, der_len);
}

absl::StatusOr<Signer> VerifyDetached(absl::string_view signature,
                                      absl::string_view data,
                                      const std::string& trust_dir,
                                      absl::string_view signature_name,
                                      absl::string_view data_name) {
  const auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(why);
  };
  const auto denied = [](absl::string_view why) {
    return absl::PermissionDeniedError(why);
  };
  // 1. The CMS signature over the data, by exactly one signer.
  CmsPtr cms = ParseCms(signature);
  if (!cms) {
    return bad(absl::StrCat(signature_name, " is not a CMS signature"));
  }
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  if (infos == nullptr || sk_CMS_SignerInfo_num(infos) != 1) {
    return bad("the signature block must hold exactly one signer");
  }
  X509_ALGOR* digest_alg = nullptr;
  CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(infos, 0), nullptr, nullptr,
                           &digest_alg, nullptr);
  const ASN1_OBJECT* digest_obj = nullptr;
  X509_ALGOR_get0(&digest_obj, nullptr, nullptr, digest_alg);
  const int digest_nid = OBJ_obj2nid(digest_obj);
  if (digest_nid != NID_sha256 && digest_nid != NID_sha384 &&
      digest_nid != NID_sha512) {
    return bad(absl::StrCat("the signature uses ", OBJ_nid2sn(digest_nid),
                            "; SHA-256 or stronger is required"));
  }
  BioPtr in(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  // The chain is checked below, with the code-signing rules.
  if (CMS_verify(cms.get(), nullptr, nullptr, in.get(), nullptr,
                 CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
    return bad(absl::StrCat("the signature over ", data_name,
                            " does not verify: ", OpenSslError()));
  }
  CertStack signers(CMS_get0_signers(cms.get()));
  // CMS_get0_signers does not take references; release without freeing.
  X509* signer = sk_X509_num(signers.get()) == 1
                     ? sk_X509_value(signers.get(), 0)
                     : nullptr;
  sk_X509_free(signers.release());
  if (signer == nullptr) return bad("the signer's certificate is missing");

  // 2. The signer's chain, to a root in the trust store, valid now.
  StorePtr store(X509_STORE_new());
  int roots = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(trust_dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".pem" && ext != ".crt") continue;
    auto certs = ReadCerts(entry.path().string());
    if (!certs.ok()) continue;
    for (X509Ptr& c : *certs)
      roots += X509_STORE_add_cert(store.get(), c.get());
  }
  if (roots == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no trusted root certificate (*.pem, *.crt) in ", trust_dir));
  }
  CertStack untrusted(CMS_get1_certs(cms.get()));
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), signer, untrusted.get());
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY);
  if (X509_verify_cert(ctx.get()) != 1) {
    return denied(absl::StrCat(
        "the signer ", NameText(X509_get_subject_name(signer)),
        " is not trusted: ",
        X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()))));
  }
  if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
      (X509_get_extended_key_usage(signer) & XKU_CODE_SIGN) == 0) {
    return denied(absl::StrCat(
        "the signer ", NameText(X509_get_subject_name(signer)),
        " has no code-signing certificate (extended key usage codeSigning)"));
  }

  Signer out;
  out.subject = NameText(X509_get_subject_name(signer));
  out.issuer = NameText(X509_get_issuer_name(signer));
  struct tm not_after {};
  ASN1_TIME_to_tm(X509_get0_notAfter(signer), &not_after);
  out.not_after = absl::FromTM(not_after, absl::UTCTimeZone());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(signer, EVP_sha256(), md, &len);
  out.certificate_sha256 = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(md), len));
  return out;
}

absl::StatusOr<std::string> UnverifiedSignerSubject(
    absl::string_view signature) {
  CmsPtr cms = ParseCms(signature);
  if (!cms) return absl::InvalidArgumentError("not a CMS signature");
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  if (infos == nullptr || sk_CMS_SignerInfo_num(infos) != 1) {
    return absl::InvalidArgumentError("not exactly one signer");
  }
  CertStack certs(CMS_get1_certs(cms.get()));
  CMS_SignerInfo* info = sk_CMS_SignerInfo_value(infos, 0);
  for (int i = 0; i < sk_X509_num(certs.get()); ++i) {
    X509* c = sk_X509_value(certs.get(), i);
    if (CMS_SignerInfo_cert_cmp(info, c) == 0) {
      return NameText(X509_get_subject_name(c));
    }
  }
  return absl::InvalidArgumentError("the signer's certificate is missing");
}

}  // namespace pitstop
