#include "supervisor/repo/repository_fetch.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/common/status_macros.h"

namespace pitstop {

absl::StatusOr<VerifiedIndex> FetchVerifiedIndex(const std::string& url,
                                                 const FetchOptions& options) {
  ASSIGN_OR_RETURN(const std::string base, NormalizeRepositoryUrl(url));
  if (options.trust_dir.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        base,
        ": repositories need trusted roots to check the index signature; "
        "set trust_dir (pitstopd --trust-dir, or --trust for the CLI)"));
  }
  const std::string index_url = JoinUrl(base, kIndexFile);
  const std::string sig_url = JoinUrl(base, kIndexSignatureFile);
  FetchLimits limits{options.max_index_bytes, options.timeout,
                     options.stall_timeout, options.cancelled};
  VerifiedIndex out;
  ASSIGN_OR_RETURN(out.bytes, FetchToString(index_url, limits));
  limits.max_bytes = 1 << 20;
  ASSIGN_OR_RETURN(out.signature, FetchToString(sig_url, limits));
  absl::StatusOr<Signer> signer = VerifyDetached(
      out.signature, out.bytes, options.trust_dir, sig_url, index_url);
  if (!signer.ok()) {
    return absl::Status(
        signer.status().code(),
        absl::StrCat(base, ": the index signature is refused: ",
                     signer.status().message(),
                     absl::IsPermissionDenied(signer.status())
                         ? "; the index must be signed (`pitstop repo build`) "
                           "with a key issued under the project's root"
                         : ""));
  }
  out.signer = *signer;
  ASSIGN_OR_RETURN(out.index, ParseIndex(out.bytes, index_url));
  out.sha256 = Sha256Hex(out.bytes);
  return out;
}

namespace {

absl::Status FetchIndexedCarOnce(const std::string& url,
                                 const IndexEntry& entry,
                                 const std::string& path,
                                 const FetchOptions& options, bool resume) {
  ASSIGN_OR_RETURN(const std::string base, NormalizeRepositoryUrl(url));
  RETURN_IF_ERROR(CheckIndexPath(entry.path));
  const std::string car_url = JoinUrl(base, entry.path);
  std::error_code ec;
  const auto fail = [&](absl::Status s, bool keep) {
    if (!keep) std::filesystem::remove(path, ec);
    return s;
  };
  absl::StatusOr<uint64_t> size =
      FetchToFile(car_url, path,
                  FetchLimits{entry.length, options.timeout,
                              options.stall_timeout, options.cancelled},
                  resume);
  if (!size.ok()) {
    const bool oversized = absl::IsResourceExhausted(size.status());
    absl::Status s = size.status();
    if (oversized) {
      s = absl::ResourceExhaustedError(absl::StrCat(
          car_url, ": ", entry.name, " ", entry.version.ToString(),
          " is larger than the ", entry.length,
          " bytes its index lists; refusing it (a tampered or hostile "
          "repository)"));
    }
    return fail(s, resume && !oversized);
  }
  if (*size != entry.length) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
                    car_url, ": got ", *size, " bytes of ", entry.name, " ",
                    entry.version.ToString(), ", but the index lists ",
                    entry.length, "; refusing the truncated download")),
                false);
  }
  ASSIGN_OR_RETURN(const std::string sha256, Sha256File(path));
  if (sha256 != entry.sha256) {
    return fail(
        absl::InvalidArgumentError(absl::StrCat(
            car_url, ": the SHA-256 of ", entry.name, " ",
            entry.version.ToString(), " is ", sha256, ", but the index lists ",
            entry.sha256, "; refusing the tampered CAR")),
        false);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FetchIndexedCar(const std::string& url, const IndexEntry& entry,
                             const std::string& path,
                             const FetchOptions& options, bool resume) {
  std::error_code ec;
  const bool resumed = resume && std::filesystem::exists(path, ec);
  absl::Status s = FetchIndexedCarOnce(url, entry, path, options, resume);
  // A partial file from elsewhere may hold other bytes: a resumed download
  // that fails its digest is started over once.
  if (resumed && absl::IsInvalidArgument(s)) {
    std::filesystem::remove(path, ec);
    s = FetchIndexedCarOnce(url, entry, path, options, resume);
  }
  return s;
}

}  // namespace pitstop
