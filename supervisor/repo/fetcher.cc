#include "supervisor/repo/fetcher.h"

#include <curl/curl.h>

#include <cstdio>
#include <filesystem>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace pitstop {
namespace {

struct Sink {
  std::string* memory = nullptr;
  std::FILE* file = nullptr;
  uint64_t written = 0;  // including a resumed file's earlier bytes
  uint64_t max_bytes = 0;
  bool over_limit = false;
  bool write_failed = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  Sink* sink = static_cast<Sink*>(user);
  const size_t bytes = size * n;
  if (sink->written + bytes > sink->max_bytes) {
    sink->over_limit = true;
    return 0;  // aborts the transfer
  }
  if (sink->memory != nullptr) {
    sink->memory->append(data, bytes);
  } else if (std::fwrite(data, 1, bytes, sink->file) != bytes) {
    sink->write_failed = true;
    return 0;
  }
  sink->written += bytes;
  return bytes;
}

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancelled = static_cast<const std::atomic<bool>*>(user);
  return cancelled->load() ? 1 : 0;  // non-zero aborts the transfer
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One transfer; on error, a Status naming the URL.
absl::Status Transfer(const std::string& url, const FetchLimits& limits,
                      Sink& sink, uint64_t resume_from, bool* range_refused) {
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "file,http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "pitstop");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  // Refused early when the server announces a larger body.
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(sink.max_bytes));
  curl_easy_setopt(
      curl, CURLOPT_TIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(limits.timeout)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(
                       std::min(limits.timeout, absl::Seconds(30)))));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(
      curl, CURLOPT_LOW_SPEED_TIME,
      std::max<long>(1, absl::ToInt64Seconds(limits.stall_timeout)));
  if (limits.cancelled != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, Progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA,
                     const_cast<std::atomic<bool>*>(limits.cancelled));
  }
  if (resume_from > 0) {
    curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE,
                     static_cast<curl_off_t>(resume_from));
  }
  const CURLcode rc = curl_easy_perform(curl);
  long http_code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_code);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OK) return absl::OkStatus();
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return absl::CancelledError(absl::StrCat(url, ": download cancelled"));
  }
  const std::string why = error[0] ? error : curl_easy_strerror(rc);
  if (sink.over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
    return absl::ResourceExhaustedError(
        absl::StrCat(url, ": the server sent more than the ", sink.max_bytes,
                     " bytes allowed; transfer aborted"));
  }
  if (sink.write_failed) {
    return absl::InternalError(
        absl::StrCat(url, ": cannot write the download to disk"));
  }
  if (rc == CURLE_RANGE_ERROR && range_refused != nullptr) {
    *range_refused = true;
    return absl::UnavailableError(absl::StrCat(url, ": ", why));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(absl::StrCat(
        url, ": ", why, " (limits: ", absl::FormatDuration(limits.timeout),
        " in all, ", absl::FormatDuration(limits.stall_timeout),
        " without data); is the server overloaded or hostile?"));
  }
  if (http_code == 404 || rc == CURLE_FILE_COULDNT_READ_FILE ||
      rc == CURLE_REMOTE_FILE_NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat(url, ": not found (", why, ")"));
  }
  if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
    return absl::InvalidArgumentError(absl::StrCat(
        url, ": ", why, "; only file://, http:// and https:// are allowed"));
  }
  return absl::UnavailableError(absl::StrCat(url, ": ", why));
}

}  // namespace

absl::StatusOr<std::string> NormalizeRepositoryUrl(absl::string_view url) {
  std::string out;
  if (absl::StartsWith(url, "file://") || absl::StartsWith(url, "http://") ||
      absl::StartsWith(url, "https://")) {
    out = std::string(url);
  } else if (url.find("://") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "repository URL '", url,
        "': only file://, http://, https:// URLs and directories are "
        "supported"));
  } else if (url.empty()) {
    return absl::InvalidArgumentError("empty repository URL");
  } else {
    out = absl::StrCat("file://", std::filesystem::absolute(std::string(url))
                                      .lexically_normal()
                                      .string());
  }
  while (absl::EndsWith(out, "/") && !absl::EndsWith(out, "://")) {
    out.pop_back();
  }
  return out;
}

std::string JoinUrl(absl::string_view base, absl::string_view path) {
  return absl::StrCat(base, "/", path);
}

absl::StatusOr<std::string> FetchToString(const std::string& url,
                                          const FetchLimits& limits) {
  std::string body;
  Sink sink;
  sink.memory = &body;
  sink.max_bytes = limits.max_bytes;
  absl::Status s = Transfer(url, limits, sink, 0, nullptr);
  if (!s.ok()) return s;
  return body;
}

absl::StatusOr<uint64_t> FetchToFile(const std::string& url,
                                     const std::string& path,
                                     const FetchLimits& limits, bool resume) {
  std::error_code ec;
  uint64_t offset = 0;
  if (resume && std::filesystem::exists(path, ec)) {
    offset = std::filesystem::file_size(path, ec);
    if (ec) offset = 0;
  }
  if (offset >= limits.max_bytes) offset = 0;  // complete or bogus: start over
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::FILE* file = std::fopen(path.c_str(), offset > 0 ? "ab" : "wb");
    if (file == nullptr) {
      return absl::InternalError(absl::StrCat("cannot write ", path));
    }
    Sink sink;
    sink.file = file;
    sink.written = offset;
    sink.max_bytes = limits.max_bytes;
    bool range_refused = false;
    absl::Status s = Transfer(url, limits, sink, offset, &range_refused);
    const bool closed = std::fclose(file) == 0;
    if (s.ok() && !closed) {
      s = absl::InternalError(absl::StrCat("cannot write ", path));
    }
    if (s.ok()) return sink.written;
    if (range_refused && offset > 0) {
      offset = 0;  // the server cannot resume: download it all again
      continue;
    }
    return s;
  }
  return absl::UnavailableError(absl::StrCat(url, ": cannot download"));
}

}  // namespace pitstop
