#include "pitstop/sdk/state_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "pitstop/sdk/testing/temp_dir.h"

namespace pitstop::sdk {
namespace {

using testing::TempDir;

std::string ReadAll(StateFile& file) {
  std::string seen;
  REQUIRE(file.Read([&](const std::string& contents) {
                seen = contents;
                return absl::OkStatus();
              })
              .ok());
  return seen;
}

TEST_CASE("a state file reads as empty until its first update", "[sdk]") {
  TempDir dir;
  auto file = StateFile::Open(dir.path(), "driver.state");
  REQUIRE(file.ok());
  CHECK((*file)->path() == dir.Join("driver.state"));
  CHECK(ReadAll(**file).empty());
  struct stat st;
  CHECK(stat(dir.Join("driver.state").c_str(), &st) != 0);
  CHECK(stat(dir.Join("driver.state.lock").c_str(), &st) == 0);
}

TEST_CASE("a failed update changes nothing, a successful one persists",
          "[sdk]") {
  TempDir dir;
  auto file = StateFile::Open(dir.path(), "driver.state");
  REQUIRE(file.ok());
  REQUIRE((*file)
              ->Update([](std::string& s) {
                s = "first";
                return absl::OkStatus();
              })
              .ok());
  absl::Status failed = (*file)->Update([](std::string& s) {
    s = "lost";
    return absl::InternalError("boom");
  });
  CHECK(failed.code() == absl::StatusCode::kInternal);
  CHECK(ReadAll(**file) == "first");

  // Another instance on the same directory (another process during an
  // upgrade) sees the change; no temporary file is left behind.
  auto other = StateFile::Open(dir.path(), "driver.state");
  REQUIRE(other.ok());
  CHECK(ReadAll(**other) == "first");
  struct stat st;
  CHECK(stat(dir.Join("driver.state.tmp").c_str(), &st) != 0);
}

TEST_CASE("a read returns the reader's error", "[sdk]") {
  TempDir dir;
  auto file = StateFile::Open(dir.path(), "driver.state");
  REQUIRE(file.ok());
  absl::Status status = (*file)->Read(
      [](const std::string&) { return absl::NotFoundError("no such thing"); });
  CHECK(status.code() == absl::StatusCode::kNotFound);
}

TEST_CASE("opening a state file in a missing directory is UNAVAILABLE",
          "[sdk]") {
  TempDir dir;
  auto file = StateFile::Open(dir.Join("missing"), "driver.state");
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(file.status().message()),
             Catch::Matchers::Contains("driver.state.lock"));
}

struct Counter {
  uint64_t value = 0;
};

std::string SerializeCounter(const Counter& c) {
  return absl::StrCat("counter ", c.value);
}

absl::StatusOr<Counter> ParseCounter(absl::string_view text) {
  Counter c;
  if (!absl::ConsumePrefix(&text, "counter ") ||
      !absl::SimpleAtoi(text, &c.value)) {
    return absl::DataLossError("not a counter file");
  }
  return c;
}

constexpr StateCodec<Counter> kCounterCodec = {&SerializeCounter,
                                               &ParseCounter};

TEST_CASE("two typed state files on one file never lose each other's updates",
          "[sdk]") {
  TempDir dir;
  auto first = TypedStateFile<Counter>::Open(dir.path(), "c", kCounterCodec);
  auto second = TypedStateFile<Counter>::Open(dir.path(), "c", kCounterCodec);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  for (int i = 0; i < 10; ++i) {
    TypedStateFile<Counter>& file = i % 2 == 0 ? **first : **second;
    REQUIRE(file.Update([](Counter& c) {
                  ++c.value;
                  return absl::OkStatus();
                })
                .ok());
  }
  uint64_t value = 0;
  REQUIRE((*first)
              ->Read([&](const Counter& c) {
                value = c.value;
                return absl::OkStatus();
              })
              .ok());
  CHECK(value == 10);
}

TEST_CASE("a typed state file refuses to open a corrupt file", "[sdk]") {
  TempDir dir;
  auto raw = StateFile::Open(dir.path(), "c");
  REQUIRE(raw.ok());
  REQUIRE((*raw)
              ->Update([](std::string& s) {
                s = "garbage";
                return absl::OkStatus();
              })
              .ok());
  auto typed = TypedStateFile<Counter>::Open(dir.path(), "c", kCounterCodec);
  REQUIRE_FALSE(typed.ok());
  CHECK(typed.status().code() == absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace pitstop::sdk
