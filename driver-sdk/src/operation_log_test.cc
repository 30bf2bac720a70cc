#include "pitstop/sdk/operation_log.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/wrappers.pb.h"

namespace pitstop::sdk {
namespace {

using ::google::protobuf::StringValue;

// Runs `op_id` as `method` on `resource`, answering `answer` if applied.
absl::Status RunOnce(OperationLog& log, int& applied, const std::string& op_id,
                     const std::string& method, const std::string& resource,
                     const std::string& answer, StringValue& response,
                     bool* replayed = nullptr) {
  return log.Run(
      op_id, method, resource, response,
      [&] {
        ++applied;
        response.set_value(answer);
        return absl::OkStatus();
      },
      replayed);
}

TEST_CASE("a known operation id replays the remembered response", "[sdk]") {
  OperationLog log;
  int applied = 0;
  StringValue response;
  bool replayed = true;
  REQUIRE(RunOnce(log, applied, "op-1", "Create", "vol-1", "first", response,
                  &replayed)
              .ok());
  CHECK_FALSE(replayed);
  CHECK(response.value() == "first");
  REQUIRE(RunOnce(log, applied, "op-1", "Create", "vol-1", "second", response,
                  &replayed)
              .ok());
  CHECK(replayed);
  CHECK(response.value() == "first");
  CHECK(applied == 1);
}

TEST_CASE("an empty operation id always applies and is not remembered",
          "[sdk]") {
  OperationLog log;
  int applied = 0;
  StringValue response;
  REQUIRE(RunOnce(log, applied, "", "Create", "vol-1", "a", response).ok());
  REQUIRE(RunOnce(log, applied, "", "Create", "vol-1", "b", response).ok());
  CHECK(applied == 2);
  CHECK(response.value() == "b");
  CHECK(log.size() == 0);
}

TEST_CASE("an operation id reused for another method or resource is refused",
          "[sdk]") {
  OperationLog log;
  int applied = 0;
  StringValue response;
  REQUIRE(RunOnce(log, applied, "op-1", "Create", "vol-1", "a", response).ok());
  for (const auto& [method, resource] :
       {std::pair<std::string, std::string>{"Delete", "vol-1"},
        std::pair<std::string, std::string>{"Create", "vol-2"}}) {
    absl::Status status =
        RunOnce(log, applied, "op-1", method, resource, "b", response);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::Matchers::Contains("already used for Create on 'vol-1'"));
  }
  CHECK(applied == 1);
}

TEST_CASE("a failed operation is not remembered and can be retried", "[sdk]") {
  OperationLog log;
  StringValue response;
  absl::Status failed = log.Run("op-1", "Create", "vol-1", response, [] {
    return absl::FailedPreconditionError("not yet");
  });
  CHECK(failed.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(log.Find("op-1") == nullptr);
  int applied = 0;
  REQUIRE(
      RunOnce(log, applied, "op-1", "Create", "vol-1", "ok", response).ok());
  CHECK(applied == 1);
}

TEST_CASE("a corrupt remembered response is DATA_LOSS", "[sdk]") {
  OperationLog log;
  log.Remember("op-1", {"Create", "vol-1", "\xff\xff\xff"});
  StringValue response;
  int applied = 0;
  absl::Status status =
      RunOnce(log, applied, "op-1", "Create", "vol-1", "x", response);
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(applied == 0);
}

TEST_CASE("the operation log forgets the oldest operations beyond capacity",
          "[sdk]") {
  OperationLog log(3);
  for (int i = 1; i <= 4; ++i) {
    log.Remember(absl::StrCat("op-", i), {"M", "r", "x"});
  }
  // Remembering op-2 again makes it the newest.
  log.Remember("op-2", {"M", "r", "y"});
  log.Remember("op-5", {"M", "r", "z"});
  CHECK(log.size() == 3);
  CHECK(log.Find("op-1") == nullptr);
  CHECK(log.Find("op-3") == nullptr);
  REQUIRE(log.Find("op-2") != nullptr);
  CHECK(log.Find("op-2")->response == "y");
  CHECK(log.Find("op-4") != nullptr);
  CHECK(log.Find("op-5") != nullptr);
  CHECK(OperationLog::kDefaultCapacity == 4096);
}

TEST_CASE("the operation log survives a round trip through its text form",
          "[sdk]") {
  OperationLog log(3);
  log.Remember("op\t1", {"Create", "vol\n1", std::string("\0\x01bin\n", 7)});
  log.Remember("op-2", {"Delete", "vol-2", ""});
  absl::StatusOr<OperationLog> parsed = OperationLog::Parse(log.Serialize(), 3);
  REQUIRE(parsed.ok());
  CHECK(parsed->Serialize() == log.Serialize());
  REQUIRE(parsed->Find("op\t1") != nullptr);
  CHECK(parsed->Find("op\t1")->resource_id == "vol\n1");
  CHECK(parsed->Find("op\t1")->response == std::string("\0\x01bin\n", 7));

  // Age order survives: the oldest is still forgotten first.
  parsed->Remember("op-3", {"M", "r", ""});
  parsed->Remember("op-4", {"M", "r", ""});
  CHECK(parsed->Find("op\t1") == nullptr);
  CHECK(parsed->Find("op-2") != nullptr);

  absl::StatusOr<OperationLog> bad =
      OperationLog::Parse("operation-log\t1\noperation\tonly\ttwo\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(bad.status().message()),
             Catch::Matchers::Contains("operation log line 2: expected 5"));
  REQUIRE(OperationLog().Serialize() == "operation-log\t1\n");
  CHECK(OperationLog::Parse(OperationLog().Serialize())->size() == 0);
}

}  // namespace
}  // namespace pitstop::sdk
