#include "pitstop/sdk/operation_log.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pitstop/sdk/records.h"

namespace pitstop::sdk {

OperationLog::OperationLog(size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity) {}

absl::Status OperationLog::Run(absl::string_view operation_id,
                               absl::string_view method,
                               absl::string_view resource_id,
                               google::protobuf::Message& response,
                               absl::FunctionRef<absl::Status()> apply,
                               bool* replayed) {
  if (replayed != nullptr) *replayed = false;
  if (const Entry* done = Find(operation_id); done != nullptr) {
    if (done->method != method || done->resource_id != resource_id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "operation id '", operation_id, "' was already used for ",
          done->method, " on '", done->resource_id,
          "'; give each new operation a new operation id"));
    }
    response.Clear();
    if (!response.ParseFromString(done->response)) {
      return absl::DataLossError(
          absl::StrCat("the remembered result of operation '", operation_id,
                       "' is corrupt; retry with a new operation id"));
    }
    if (replayed != nullptr) *replayed = true;
    return absl::OkStatus();
  }
  response.Clear();
  absl::Status status = apply();
  if (!status.ok()) return status;
  if (!operation_id.empty()) {
    Remember(operation_id, Entry{std::string(method), std::string(resource_id),
                                 response.SerializeAsString()});
  }
  return absl::OkStatus();
}

const OperationLog::Entry* OperationLog::Find(
    absl::string_view operation_id) const {
  if (operation_id.empty()) return nullptr;
  auto it = entries_.find(operation_id);
  return it == entries_.end() ? nullptr : &it->second.entry;
}

void OperationLog::Remember(absl::string_view operation_id, Entry entry) {
  auto it = entries_.find(operation_id);
  if (it == entries_.end()) {
    it = entries_.emplace(std::string(operation_id), Remembered()).first;
  } else {
    by_age_.erase(it->second.sequence);
  }
  it->second.entry = std::move(entry);
  it->second.sequence = next_sequence_++;
  by_age_[it->second.sequence] = it->first;
  while (entries_.size() > capacity_) {
    auto oldest = by_age_.begin();
    entries_.erase(oldest->second);
    by_age_.erase(oldest);
  }
}

namespace {

constexpr RecordFormat kFormat = {"operation log", "operation-log", "1"};

}  // namespace

std::string OperationLog::Serialize() const {
  RecordWriter writer(kFormat);
  for (const auto& [sequence, operation_id] : by_age_) {
    const Entry& entry = entries_.find(operation_id)->second.entry;
    writer.Add("operation", operation_id, entry.method, entry.resource_id,
               entry.response);
  }
  return writer.Take();
}

absl::StatusOr<OperationLog> OperationLog::Parse(absl::string_view text,
                                                 size_t capacity) {
  OperationLog log(capacity);
  absl::Status status =
      ParseRecords(text, kFormat, [&](const Record& r) -> absl::Status {
        if (r.kind() != "operation") {
          return r.Error(absl::StrCat("unknown record '", r.kind(), "'"));
        }
        absl::Status expected = r.Expect(5);
        if (!expected.ok()) return expected;
        log.Remember(r.Str(1), Entry{r.Str(2), r.Str(3), r.Str(4)});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return log;
}

}  // namespace pitstop::sdk
