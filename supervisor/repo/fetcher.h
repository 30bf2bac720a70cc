#ifndef PITSTOP_SUPERVISOR_REPO_FETCHER_H_
#define PITSTOP_SUPERVISOR_REPO_FETCHER_H_

// Bounded downloads with libcurl from file://, http:// and https:// URLs (a
// plain directory path counts as file://). Every download has a byte cap
// (the transfer is aborted as soon as it is exceeded), an overall deadline
// and a stall timeout, so a server that never stops sending, or sends
// nothing, cannot hold the caller. Redirects are followed only to http(s).
// TLS is not the trust anchor: callers check signatures and digests.
// Thread-safe; blocks the calling thread for the transfer.

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pitstop {

struct FetchLimits {
  // More bytes than this aborts the transfer: RESOURCE_EXHAUSTED.
  uint64_t max_bytes = 16 << 20;
  // The whole transfer: DEADLINE_EXCEEDED.
  absl::Duration timeout = absl::Minutes(5);
  // Less than one byte a second for this long: DEADLINE_EXCEEDED.
  absl::Duration stall_timeout = absl::Seconds(30);
  // When set and true, the transfer stops within a second: CANCELLED.
  const std::atomic<bool>* cancelled = nullptr;
};

// "file:///abs/path" for a path ("/srv/repo", "./repo"), the URL itself for
// file://, http:// and https:// URLs (without a trailing '/').
// INVALID_ARGUMENT for another scheme.
absl::StatusOr<std::string> NormalizeRepositoryUrl(absl::string_view url);

// `base` (normalized) joined with a relative path.
std::string JoinUrl(absl::string_view base, absl::string_view path);

// The body of `url`, at most limits.max_bytes. NOT_FOUND (HTTP 404, no
// such file), UNAVAILABLE (cannot connect, other HTTP errors),
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED; every error names the URL.
absl::StatusOr<std::string> FetchToString(const std::string& url,
                                          const FetchLimits& limits);

// Writes the body of `url` into `path` (created or truncated), at most
// limits.max_bytes. With `resume`, an existing `path` is continued from its
// size (a byte range request; started over when the server does not
// support ranges). Returns the file's final size. Errors as FetchToString;
// a partial file is left for a later resume.
absl::StatusOr<uint64_t> FetchToFile(const std::string& url,
                                     const std::string& path,
                                     const FetchLimits& limits,
                                     bool resume = false);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_REPO_FETCHER_H_
