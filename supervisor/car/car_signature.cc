#include "supervisor/car/car_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <algorithm>
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

  // 1. The CMS signature over the .SF, by exactly one signer whose chain
  // leads to a trusted root and who may sign code.
  absl::StatusOr<Signer> signer =
      VerifyDetached(block_file->content, sf_file->content, trust_dir,
                     block_file->name, sf_file->name);
  if (!signer.ok()) {
    if (absl::IsInvalidArgument(signer.status())) {
      return bad(signer.status().message());
    }
    if (absl::IsPermissionDenied(signer.status())) {
      return denied(signer.status().message());
    }
    return signer.status();
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

  return *signer;
}

}  // namespace pitstop
