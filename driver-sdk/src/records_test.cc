#include "pitstop/sdk/records.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace pitstop::sdk {
namespace {

constexpr RecordFormat kFormat = {"test state", "test-state", "1"};

TEST_CASE("records survive a round trip with any bytes in their fields",
          "[sdk]") {
  RecordWriter writer(kFormat);
  const std::string odd("tab\there\nnewline \"quote\" \\ \0\xff", 27);
  writer.Add("item", odd, uint64_t{18446744073709551615u}, true, false);
  writer.Add(std::string("empty"), "");
  const std::string text = writer.Take();
  CHECK(text.rfind("test-state\t1\n", 0) == 0);

  std::vector<std::vector<std::string>> seen;
  REQUIRE(ParseRecords(text, kFormat, [&](const Record& r) {
            std::vector<std::string> fields;
            for (size_t i = 0; i < r.size(); ++i) fields.push_back(r.Str(i));
            seen.push_back(fields);
            return absl::OkStatus();
          }).ok());
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::vector<std::string>{"item", odd, "18446744073709551615",
                                            "1", "0"});
  CHECK(seen[1] == std::vector<std::string>{"empty", ""});
}

TEST_CASE("record fields convert to numbers and booleans", "[sdk]") {
  RecordWriter writer(kFormat);
  writer.Add("x", uint64_t{42}, true);
  const std::string text = writer.Take();
  uint64_t n = 0;
  bool b = false;
  REQUIRE(ParseRecords(text, kFormat, [&](const Record& r) -> absl::Status {
            absl::Status s = r.Expect(3);
            if (s.ok()) s = r.Uint(1, &n);
            if (s.ok()) s = r.Bool(2, &b);
            return s;
          }).ok());
  CHECK(n == 42);
  CHECK(b);
}

TEST_CASE("a malformed record file is DATA_LOSS naming the line", "[sdk]") {
  struct Case {
    std::string text;
    const char* expected;
  };
  const Case cases[] = {
      {"", "test state line 1: not a version 1 test state file"},
      {"\nx\n", "line 1: not a version 1"},
      {"other-state\t1\n", "line 1: not a version 1"},
      {"test-state\t2\n", "line 1: not a version 1"},
      {"test-state\t1\nx\t\\q\n", "line 2: badly escaped field"},
      {"test-state\t1\nx\t1\n", "line 2: expected 3 fields, got 2"},
      {"test-state\t1\nx\ta\t1\n", "line 2: field 1 is not a number"},
      {"test-state\t1\nx\t1\t2\n", "line 2: field 2 is not 0 or 1"},
      {"test-state\t1\n\nx\t1\t1", "line 3: file is truncated"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    absl::Status status =
        ParseRecords(c.text, kFormat, [](const Record& r) -> absl::Status {
          uint64_t n = 0;
          bool b = false;
          absl::Status s = r.Expect(3);
          if (s.ok()) s = r.Uint(1, &n);
          if (s.ok()) s = r.Bool(2, &b);
          return s;
        });
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains(c.expected));
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains("restore the state directory"));
  }
}

}  // namespace
}  // namespace pitstop::sdk
