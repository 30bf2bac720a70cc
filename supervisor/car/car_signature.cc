#include "supervisor/car/car_signature.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/jar_manifest.h"
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

std::string Sha256(absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string B64Sha256(absl::string_view data) {
  return absl::Base64Escape(Sha256(data));
}

bool IsSignatureFile(absl::string_view name) {
  if (!absl::StartsWith(name, "META-INF/")) return false;
  absl::string_view rest = name.substr(9);
  if (rest.find('/') != absl::string_view::npos) return false;
  for (absl::string_view ext : {".SF", ".RSA", ".EC", ".DSA"}) {
    if (absl::EndsWith(rest, ext)) return true;
  }
  return false;
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

}  // namespace

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "rb"));
  if (!bio) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[64 * 1024];
  int n;
  while ((n = BIO_read(bio.get(), buf, sizeof buf)) > 0) {
    EVP_DigestUpdate(ctx, buf, n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(md), len));
}

absl::Status SignCar(const std::string& car_path, const std::string& out_path,
                     const std::string& key_path, const std::string& cert_path,
                     const std::string& chain_path,
                     const std::string& signer_name) {
  ASSIGN_OR_RETURN(std::vector<CarFile> all, ReadCarFiles(car_path));
  std::vector<CarFile> files;
  for (CarFile& f : all) {
    if (f.name == "META-INF/MANIFEST.MF" || IsSignatureFile(f.name)) continue;
    files.push_back(std::move(f));
  }

  std::string manifest =
      absl::StrCat(JarHeader("Manifest-Version", "1.0"),
                   JarHeader("Created-By", "pitstop car sign"), "\r\n");
  const std::string main_section = manifest;
  std::string sf_entries;
  for (const CarFile& f : files) {
    const std::string section =
        absl::StrCat(JarHeader("Name", f.name),
                     JarHeader("SHA-256-Digest", B64Sha256(f.content)), "\r\n");
    manifest += section;
    absl::StrAppend(&sf_entries, JarHeader("Name", f.name),
                    JarHeader("SHA-256-Digest", B64Sha256(section)), "\r\n");
  }
  const std::string sf = absl::StrCat(
      JarHeader("Signature-Version", "1.0"),
      JarHeader("SHA-256-Digest-Manifest-Main-Attributes",
                B64Sha256(main_section)),
      JarHeader("SHA-256-Digest-Manifest", B64Sha256(manifest)),
      JarHeader("Created-By", "pitstop car sign"), "\r\n", sf_entries);

  BioPtr key_bio(BIO_new_file(key_path.c_str(), "r"));
  if (!key_bio)
    return absl::NotFoundError(absl::StrCat("cannot read ", key_path));
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_path, " holds no PEM private key: ", OpenSslError()));
  }
  const char* extension = nullptr;
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_EC:
      extension = "EC";
      break;
    case EVP_PKEY_RSA:
      extension = "RSA";
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(key_path, ": only EC and RSA keys can sign a CAR"));
  }
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
  BioPtr data(BIO_new_mem_buf(sf.data(), static_cast<int>(sf.size())));
  CmsPtr cms(CMS_sign(certs[0].get(), key.get(), chain.get(), data.get(),
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

  std::vector<CarFile> signed_files;
  signed_files.push_back({"META-INF/MANIFEST.MF", manifest});
  signed_files.push_back({absl::StrCat("META-INF/", signer_name, ".SF"), sf});
  signed_files.push_back(
      {absl::StrCat("META-INF/", signer_name, ".", extension),
       std::string(der, der_len)});
  for (CarFile& f : files) signed_files.push_back(std::move(f));
  return WriteCarFiles(signed_files, out_path);
}

absl::StatusOr<CarSigner> VerifyCar(const std::string& car_path,
                                    const std::string& trust_dir) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(car_path, ": ", why));
  };
  const auto denied = [&](absl::string_view why) {
    return absl::PermissionDeniedError(absl::StrCat(car_path, ": ", why));
  };
  ASSIGN_OR_RETURN(std::vector<CarFile> files, ReadCarFiles(car_path));
  const CarFile* manifest_file = nullptr;
  const CarFile* sf_file = nullptr;
  const CarFile* block_file = nullptr;
  for (const CarFile& f : files) {
    if (f.name == "META-INF/MANIFEST.MF") {
      manifest_file = &f;
    } else if (IsSignatureFile(f.name)) {
      const CarFile** slot =
          absl::EndsWith(f.name, ".SF") ? &sf_file : &block_file;
      if (*slot != nullptr) {
        return bad("more than one signature: a CAR has exactly one signer");
      }
      *slot = &f;
    }
  }
  if (sf_file == nullptr && block_file == nullptr) {
    return bad(
        "not signed: no META-INF/*.SF and signature block; sign it with "
        "`pitstop car sign`");
  }
  if (sf_file == nullptr || block_file == nullptr) {
    return bad(
        "incomplete signature: a .SF file and its .EC/.RSA block go "
        "together");
  }
  if (sf_file->name.substr(0, sf_file->name.size() - 3) !=
      block_file->name.substr(0, block_file->name.rfind('.'))) {
    return bad(absl::StrCat("the signature block ", block_file->name,
                            " does not belong to ", sf_file->name));
  }
  if (manifest_file == nullptr) return bad("no META-INF/MANIFEST.MF");
  // The signature must cover what the driver is: without driver.yaml there
  // is nothing to vouch for.
  if (std::none_of(files.begin(), files.end(), [](const CarFile& f) {
        return f.name == "META-INF/driver.yaml";
      })) {
    return bad("META-INF/driver.yaml is missing: a signed CAR must carry it");
  }

  // 1. The CMS signature over the .SF, by exactly one signer.
  const unsigned char* p =
      reinterpret_cast<const unsigned char*>(block_file->content.data());
  CmsPtr cms(d2i_CMS_ContentInfo(
      nullptr, &p, static_cast<long>(block_file->content.size())));
  if (!cms) {
    ERR_clear_error();
    return bad(absl::StrCat(block_file->name, " is not a CMS signature"));
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
  BioPtr sf_data(BIO_new_mem_buf(sf_file->content.data(),
                                 static_cast<int>(sf_file->content.size())));
  // The chain is checked below, with the code-signing rules.
  if (CMS_verify(cms.get(), nullptr, nullptr, sf_data.get(), nullptr,
                 CMS_DETACHED | CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
    return bad(absl::StrCat("the signature over ", sf_file->name,
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

  // 3. The .SF covers the whole manifest; the manifest covers every file.
  ASSIGN_OR_RETURN(JarManifest sf,
                   ParseJarManifest(sf_file->content, sf_file->name));
  auto whole = sf.main.attributes.find("SHA-256-Digest-Manifest");
  if (whole == sf.main.attributes.end()) {
    return bad(absl::StrCat(sf_file->name,
                            " has no SHA-256-Digest-Manifest attribute"));
  }
  if (whole->second != B64Sha256(manifest_file->content)) {
    return bad("META-INF/MANIFEST.MF was changed after signing");
  }
  ASSIGN_OR_RETURN(
      JarManifest manifest,
      ParseJarManifest(manifest_file->content, "META-INF/MANIFEST.MF"));
  size_t covered = 0;
  for (const CarFile& f : files) {
    if (&f == manifest_file || &f == sf_file || &f == block_file) continue;
    auto it = manifest.entries.find(f.name);
    if (it == manifest.entries.end()) {
      return bad(absl::StrCat(f.name,
                              " is not listed in the manifest (added after "
                              "signing?)"));
    }
    auto digest = it->second.attributes.find("SHA-256-Digest");
    if (digest == it->second.attributes.end()) {
      return bad(
          absl::StrCat("the manifest has no SHA-256 digest for ", f.name));
    }
    if (digest->second != B64Sha256(f.content)) {
      return bad(absl::StrCat(f.name,
                              " was changed after signing (its SHA-256 "
                              "digest does not match the manifest)"));
    }
    ++covered;
  }
  if (covered != manifest.entries.size()) {
    for (const auto& [name, section] : manifest.entries) {
      bool present = false;
      for (const CarFile& f : files) present = present || f.name == name;
      if (!present) {
        return bad(
            absl::StrCat(name, " is listed in the manifest but missing"));
      }
    }
  }

  CarSigner out;
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

}  // namespace pitstop
