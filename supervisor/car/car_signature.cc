#include "supervisor/car/car_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/detached_signature.h"
#include "supervisor/car/jar_manifest.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
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

absl::Status Bad(const std::string& car_path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(car_path, ": ", why));
}

absl::Status Denied(const std::string& car_path, absl::string_view why) {
  return absl::PermissionDeniedError(absl::StrCat(car_path, ": ", why));
}

// The manifest and the signature files among a CAR's files; null for those
// it lacks.
struct SignatureFiles {
  const CarFile* manifest = nullptr;
  const CarFile* sf = nullptr;
  const CarFile* block = nullptr;
};

// Refuses a second .SF or a second signature block.
absl::StatusOr<SignatureFiles> FindSignatureFiles(
    const std::string& car_path, const std::vector<CarFile>& files) {
  SignatureFiles sig;
  for (const CarFile& f : files) {
    if (f.name == "META-INF/MANIFEST.MF") {
      sig.manifest = &f;
    } else if (IsSignatureFile(f.name)) {
      const CarFile** slot =
          absl::EndsWith(f.name, ".SF") ? &sig.sf : &sig.block;
      if (*slot != nullptr) {
        return Bad(car_path,
                   "more than one signature: a CAR has exactly one signer");
      }
      *slot = &f;
    }
  }
  return sig;
}

// A signed CAR has its .SF, the block of the same name, a manifest and a
// driver.yaml.
absl::Status CheckSignatureFiles(const std::string& car_path,
                                 const std::vector<CarFile>& files,
                                 const SignatureFiles& sig) {
  if (sig.sf == nullptr && sig.block == nullptr) {
    return Bad(car_path,
               "not signed: no META-INF/*.SF and signature block; sign it "
               "with `pitstop car sign`");
  }
  if (sig.sf == nullptr || sig.block == nullptr) {
    return Bad(car_path,
               "incomplete signature: a .SF file and its .EC/.RSA block go "
               "together");
  }
  if (sig.sf->name.substr(0, sig.sf->name.size() - 3) !=
      sig.block->name.substr(0, sig.block->name.rfind('.'))) {
    return Bad(car_path, absl::StrCat("the signature block ", sig.block->name,
                                      " does not belong to ", sig.sf->name));
  }
  if (sig.manifest == nullptr) {
    return Bad(car_path, "no META-INF/MANIFEST.MF");
  }
  // The signature must cover what the driver is: without driver.yaml there
  // is nothing to vouch for.
  if (std::none_of(files.begin(), files.end(), [](const CarFile& f) {
        return f.name == "META-INF/driver.yaml";
      })) {
    return Bad(car_path,
               "META-INF/driver.yaml is missing: a signed CAR must carry it");
  }
  return absl::OkStatus();
}

// The CMS signature over the .SF; its errors named after the CAR.
absl::StatusOr<CarSigner> VerifySigner(const std::string& car_path,
                                       const SignatureFiles& sig,
                                       const std::string& trust_dir) {
  absl::StatusOr<Signer> signer =
      VerifyDetached(sig.block->content, sig.sf->content, trust_dir,
                     sig.block->name, sig.sf->name);
  if (signer.ok()) return signer;
  if (absl::IsInvalidArgument(signer.status())) {
    return Bad(car_path, signer.status().message());
  }
  if (absl::IsPermissionDenied(signer.status())) {
    return Denied(car_path, signer.status().message());
  }
  return signer.status();
}

// The .SF's digest of the whole manifest.
absl::Status CheckManifestDigest(const std::string& car_path,
                                 const SignatureFiles& sig) {
  ASSIGN_OR_RETURN(JarManifest sf,
                   ParseJarManifest(sig.sf->content, sig.sf->name));
  auto whole = sf.main.attributes.find("SHA-256-Digest-Manifest");
  if (whole == sf.main.attributes.end()) {
    return Bad(car_path, absl::StrCat(sig.sf->name,
                                      " has no SHA-256-Digest-Manifest "
                                      "attribute"));
  }
  if (whole->second != B64Sha256(sig.manifest->content)) {
    return Bad(car_path, "META-INF/MANIFEST.MF was changed after signing");
  }
  return absl::OkStatus();
}

// `f` is listed in the manifest with its digest.
absl::Status CheckFileDigest(const std::string& car_path,
                             const JarManifest& manifest, const CarFile& f) {
  auto it = manifest.entries.find(f.name);
  if (it == manifest.entries.end()) {
    return Bad(car_path, absl::StrCat(f.name,
                                      " is not listed in the manifest (added "
                                      "after signing?)"));
  }
  auto digest = it->second.attributes.find("SHA-256-Digest");
  if (digest == it->second.attributes.end()) {
    return Bad(car_path,
               absl::StrCat("the manifest has no SHA-256 digest for ", f.name));
  }
  if (digest->second != B64Sha256(f.content)) {
    return Bad(car_path, absl::StrCat(f.name,
                                      " was changed after signing (its "
                                      "SHA-256 digest does not match the "
                                      "manifest)"));
  }
  return absl::OkStatus();
}

// Every listed name is one of the CAR's files.
absl::Status CheckListedFilesPresent(const std::string& car_path,
                                     const JarManifest& manifest,
                                     const std::vector<CarFile>& files) {
  for (const auto& [name, section] : manifest.entries) {
    bool present = false;
    for (const CarFile& f : files) present = present || f.name == name;
    if (!present) {
      return Bad(car_path,
                 absl::StrCat(name, " is listed in the manifest but missing"));
    }
  }
  return absl::OkStatus();
}

// Every file but the manifest and the signature files is listed with a
// matching digest, and every listed file exists.
absl::Status CheckFileDigests(const std::string& car_path,
                              const std::vector<CarFile>& files,
                              const SignatureFiles& sig) {
  ASSIGN_OR_RETURN(
      JarManifest manifest,
      ParseJarManifest(sig.manifest->content, "META-INF/MANIFEST.MF"));
  size_t covered = 0;
  for (const CarFile& f : files) {
    if (&f == sig.manifest || &f == sig.sf || &f == sig.block) continue;
    RETURN_IF_ERROR(CheckFileDigest(car_path, manifest, f));
    ++covered;
  }
  if (covered != manifest.entries.size()) {
    return CheckListedFilesPresent(car_path, manifest, files);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Sha256File(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "rb"));
  if (!bio) {
    const int error = errno;
    const std::string why =
        absl::StrCat("cannot read ", path, ": ", std::strerror(error));
    // Out of descriptors is the reader's trouble, not the file's.
    return error == EMFILE || error == ENFILE ? absl::UnavailableError(why)
                                              : absl::NotFoundError(why);
  }
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

std::string Sha256Hex(absl::string_view data) {
  return absl::BytesToHexString(Sha256(data));
}

absl::StatusOr<std::string> UnverifiedCarSigner(const std::string& car_path) {
  ASSIGN_OR_RETURN(std::vector<CarFile> files, ReadCarFiles(car_path));
  for (const CarFile& f : files) {
    if (!IsSignatureFile(f.name) || absl::EndsWith(f.name, ".SF")) continue;
    absl::StatusOr<std::string> subject = UnverifiedSignerSubject(f.content);
    if (!subject.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          car_path, ": ", f.name, ": ", subject.status().message()));
    }
    return subject;
  }
  return std::string();
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

  ASSIGN_OR_RETURN(const std::string extension, SigningKeyType(key_path));
  ASSIGN_OR_RETURN(const std::string der,
                   SignDetached(sf, key_path, cert_path, chain_path));
  std::vector<CarFile> signed_files;
  signed_files.push_back({"META-INF/MANIFEST.MF", manifest});
  signed_files.push_back({absl::StrCat("META-INF/", signer_name, ".SF"), sf});
  signed_files.push_back(
      {absl::StrCat("META-INF/", signer_name, ".", extension), der});
  for (CarFile& f : files) signed_files.push_back(std::move(f));
  return WriteCarFiles(signed_files, out_path);
}

absl::StatusOr<CarSigner> VerifyCar(const std::string& car_path,
                                    const std::string& trust_dir) {
  ASSIGN_OR_RETURN(std::vector<CarFile> files, ReadCarFiles(car_path));
  ASSIGN_OR_RETURN(const SignatureFiles sig,
                   FindSignatureFiles(car_path, files));
  RETURN_IF_ERROR(CheckSignatureFiles(car_path, files, sig));
  // 1. The CMS signature over the .SF, by exactly one signer whose chain
  // leads to a trusted root and who may sign code.
  ASSIGN_OR_RETURN(CarSigner signer, VerifySigner(car_path, sig, trust_dir));
  // 3. The .SF covers the whole manifest; the manifest covers every file.
  RETURN_IF_ERROR(CheckManifestDigest(car_path, sig));
  RETURN_IF_ERROR(CheckFileDigests(car_path, files, sig));
  return signer;
}

}  // namespace pitstop
