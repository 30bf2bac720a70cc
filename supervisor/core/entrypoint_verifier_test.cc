#include "supervisor/core/entrypoint_verifier.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "supervisor/car/car_signature.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// A driver binary in a fresh directory, removed at the end.
struct Entrypoint {
  Entrypoint() {
    std::string t = (fs::temp_directory_path() / "verifier-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    path = dir + "/driver";
    Write("#!/bin/sh\nexec sleep 1\n");
    sha256 = *Sha256File(path);
  }
  ~Entrypoint() { fs::remove_all(dir); }
  void Write(const std::string& text,
             std::ios::openmode mode = std::ios::trunc) {
    std::ofstream(path, std::ios::binary | std::ios::out | mode) << text;
  }
  std::string dir, path, sha256;
};

// Waits until the coarse clock that stamps files is past `path`'s change
// time, so that a change made now gets a change time of its own (with the
// real clock the verifier never trusts a file changed within a second).
void AwaitClockPast(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const absl::Time changed = absl::TimeFromTimespec(st.st_ctim);
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (true) {
    timespec now;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (absl::TimeFromTimespec(now) > changed) return;
    REQUIRE(absl::Now() < deadline);
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Far enough ahead of the files' change times to trust them by identity.
FakeClock LaterClock() { return FakeClock(absl::Now() + absl::Seconds(10)); }

TEST_CASE("an unchanged entrypoint is hashed once, then trusted by identity",
          "[core][verifier]") {
  Entrypoint e;
  FakeClock clock = LaterClock();
  EntrypointVerifier v(clock);
  for (int i = 0; i < 3; ++i) REQUIRE(v.Verify(e.path, e.sha256).ok());
  CHECK(v.hashes() == 1);
}

TEST_CASE("an entrypoint written in place after it matched is refused",
          "[core][verifier]") {
  Entrypoint e;
  FakeClock clock = LaterClock();
  EntrypointVerifier v(clock);
  REQUIRE(v.Verify(e.path, e.sha256).ok());
  // Same inode, same size: only the change time tells.
  AwaitClockPast(e.path);
  e.Write("#!/bin/sh\nexec sleep 2\n", std::ios::in);
  absl::Status st = v.Verify(e.path, e.sha256);
  CHECK(st.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(st.message() ==
        e.path +
            " changed on disk since it was installed (its SHA-256 no "
            "longer matches); reinstall the CAR");
  CHECK(v.hashes() == 2);
  // And stays refused.
  CHECK(!v.Verify(e.path, e.sha256).ok());
}

TEST_CASE("an entrypoint replaced by rename is refused", "[core][verifier]") {
  Entrypoint e;
  FakeClock clock = LaterClock();
  EntrypointVerifier v(clock);
  REQUIRE(v.Verify(e.path, e.sha256).ok());
  { std::ofstream(e.path + ".new") << "#!/bin/sh\nexec true\n"; }
  fs::rename(e.path + ".new", e.path);
  CHECK(v.Verify(e.path, e.sha256).code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a metadata change makes the entrypoint hashed again, and it passes",
          "[core][verifier]") {
  Entrypoint e;
  FakeClock clock = LaterClock();
  EntrypointVerifier v(clock);
  REQUIRE(v.Verify(e.path, e.sha256).ok());
  AwaitClockPast(e.path);
  REQUIRE(::chmod(e.path.c_str(), 0700) == 0);
  CHECK(v.Verify(e.path, e.sha256).ok());
  CHECK(v.hashes() == 2);
}

TEST_CASE("an entrypoint changed within the last second is hashed every time",
          "[core][verifier]") {
  Entrypoint e;
  FakeClock clock(absl::Now());
  EntrypointVerifier v(clock);
  REQUIRE(v.Verify(e.path, e.sha256).ok());
  REQUIRE(v.Verify(e.path, e.sha256).ok());
  CHECK(v.hashes() == 2);
}

TEST_CASE("a missing entrypoint or another expected hash is refused",
          "[core][verifier]") {
  Entrypoint e;
  FakeClock clock = LaterClock();
  EntrypointVerifier v(clock);
  REQUIRE(v.Verify(e.path, e.sha256).ok());
  // Another version's hash for the same path is never taken from the cache.
  CHECK(v.Verify(e.path, std::string(64, '0')).code() ==
        absl::StatusCode::kFailedPrecondition);
  fs::remove(e.path);
  absl::Status st = v.Verify(e.path, e.sha256);
  CHECK(st.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(st.message().find(e.path) == 0);
}

}  // namespace
}  // namespace pitstop
