#include "supervisor/repo/repository_index.h"

#include <catch2/catch.hpp>

#include "supervisor/repo/fetcher.h"

namespace pitstop {
namespace {

const std::string kSha(64, 'a');

std::string Index(const std::string& cars, const std::string& head = "") {
  return "pitstop-repository-index\t1\n" +
         (head.empty() ? "version\t3\ngenerated\t2026-01-01T00:00:00Z\n"
                         "expires\t2026-02-01T00:00:00Z\n"
                       : head) +
         cars;
}

TEST_CASE("a repository index survives serialize and parse unchanged",
          "[repo]") {
  const std::string text =
      Index("car\tflashpool\t1.0.0\tstorage\t1234\t" + kSha +
            "\tcars/flashpool-1.0.0.car\tCN=acme,O=Pitstop vendors\n"
            "car\tflashpool\t1.10.0\tstorage\t99\t" +
            kSha + "\tflashpool-1.10.0.car\t\n");
  auto index = ParseIndex(text, "test");
  REQUIRE(index.ok());
  REQUIRE(index->version == 3);
  REQUIRE(index->entries.size() == 2);
  REQUIRE(index->entries[0].signer == "CN=acme,O=Pitstop vendors");
  REQUIRE(index->entries[1].version.ToString() == "1.10.0");
  REQUIRE(index->entries[1].signer.empty());
  REQUIRE(SerializeIndex(*index) == text);
}

TEST_CASE("a malformed repository index is refused saying why", "[repo]") {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::string car = "car\tx\t1.0.0\tstorage\t1\t" + kSha + "\tx.car\t\n";
  const std::vector<Case> cases = {
      {"", "non-empty"},
      {"pitstop-repository-index\t2\n", "first line"},
      {Index("", "version\t3\n"), "'generated' is missing"},
      {Index("",
             "version\t0\ngenerated\t2026-01-01T00:00:00Z\nexpires\t"
             "2026-02-01T00:00:00Z\n"),
       "positive integer"},
      {Index("", "version\t3\nversion\t4\n"), "appears twice"},
      {Index("", "version\t3\ngenerated\tyesterday\n"), "UTC time"},
      {Index("",
             "version\t3\ngenerated\t2026-03-01T00:00:00Z\nexpires\t"
             "2026-02-01T00:00:00Z\n"),
       "later than generated"},
      {Index("colour\tblue\n"), "unknown field"},
      {Index("car\tx\t1.0.0\n"), "8 tab-separated fields"},
      {Index("car\tX\t1.0.0\tstorage\t1\t" + kSha + "\tx.car\t\n"),
       "bad driver name"},
      {Index("car\tx\t1.0\tstorage\t1\t" + kSha + "\tx.car\t\n"), "1.0"},
      {Index("car\tx\t1.0.0\tdisk\t1\t" + kSha + "\tx.car\t\n"), "category"},
      {Index("car\tx\t1.0.0\tstorage\t-1\t" + kSha + "\tx.car\t\n"),
       "bad length"},
      {Index("car\tx\t1.0.0\tstorage\t1\tabc\tx.car\t\n"), "bad SHA-256"},
      {Index("car\tx\t1.0.0\tstorage\t1\t" + kSha + "\t/etc/x.car\t\n"),
       "relative"},
      {Index("car\tx\t1.0.0\tstorage\t1\t" + kSha + "\ta/../x.car\t\n"),
       "'..'"},
      {Index("car\tx\t1.0.0\tstorage\t1\t" + kSha + "\tx.zip\t\n"), "*.car"},
      {Index(car + car), "listed twice"},
      {Index(car).substr(0, Index(car).size() - 1), "newline"},
  };
  for (const Case& c : cases) {
    auto index = ParseIndex(c.text, "https://r.example/pitstop-index");
    INFO(c.text);
    REQUIRE(!index.ok());
    INFO(index.status().message());
    REQUIRE(index.status().message().find(c.error) != std::string::npos);
    REQUIRE(index.status().message().find("https://r.example/pitstop-index") !=
            std::string::npos);
  }
}

TEST_CASE("an expired, older or changed-but-same-version index is refused",
          "[repo]") {
  RepositoryIndex index;
  index.version = 5;
  index.generated = absl::FromUnixSeconds(1000);
  index.expires = absl::FromUnixSeconds(2000);
  const absl::Time now = absl::FromUnixSeconds(1500);
  REQUIRE(CheckIndexFreshness(index, "h", std::nullopt, now, "r").ok());
  REQUIRE(CheckIndexFreshness(index, "h", SeenIndex{5, "h"}, now, "r").ok());
  REQUIRE(CheckIndexFreshness(index, "h", SeenIndex{4, "g"}, now, "r").ok());

  absl::Status expired = CheckIndexFreshness(index, "h", std::nullopt,
                                             absl::FromUnixSeconds(2000), "r");
  REQUIRE(absl::IsFailedPrecondition(expired));
  REQUIRE(expired.message().find("expired") != std::string::npos);

  absl::Status older =
      CheckIndexFreshness(index, "h", SeenIndex{6, "x"}, now, "r");
  REQUIRE(absl::IsFailedPrecondition(older));
  REQUIRE(older.message().find("older than version 6") != std::string::npos);

  absl::Status changed =
      CheckIndexFreshness(index, "h", SeenIndex{5, "other"}, now, "r");
  REQUIRE(absl::IsFailedPrecondition(changed));
  REQUIRE(changed.message().find("different content") != std::string::npos);
}

TEST_CASE("validity periods are given in days, hours or minutes", "[repo]") {
  REQUIRE(*ParseValidity("30d") == absl::Hours(720));
  REQUIRE(*ParseValidity("12h") == absl::Hours(12));
  REQUIRE(*ParseValidity("90m") == absl::Minutes(90));
  REQUIRE(!ParseValidity("0d").ok());
  REQUIRE(!ParseValidity("soon").ok());
}

TEST_CASE(
    "repository URLs are file, http or https, and directories become file",
    "[repo]") {
  REQUIRE(*NormalizeRepositoryUrl("/srv/repo/") == "file:///srv/repo");
  REQUIRE(*NormalizeRepositoryUrl("https://r.example/x/") ==
          "https://r.example/x");
  REQUIRE(!NormalizeRepositoryUrl("ftp://r.example/").ok());
  REQUIRE(JoinUrl("file:///srv/repo", "a/b.car") == "file:///srv/repo/a/b.car");
}

}  // namespace
}  // namespace pitstop
