#include "pitstop/sdk/records.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace pitstop::sdk {

absl::Status Record::Expect(size_t count) const {
  if (fields_.size() == count) return absl::OkStatus();
  return Error(
      absl::StrCat("expected ", count, " fields, got ", fields_.size()));
}

absl::Status Record::Uint(size_t i, uint64_t* out) const {
  if (absl::SimpleAtoi(fields_[i], out)) return absl::OkStatus();
  return Error(absl::StrCat("field ", i, " is not a number"));
}

absl::Status Record::Bool(size_t i, bool* out) const {
  if (fields_[i] != "0" && fields_[i] != "1") {
    return Error(absl::StrCat("field ", i, " is not 0 or 1"));
  }
  *out = fields_[i] == "1";
  return absl::OkStatus();
}

absl::Status Record::Error(absl::string_view what) const {
  return absl::DataLossError(
      absl::StrCat(format_.name, " line ", line_, ": ", what,
                   "; restore the state directory from a backup or remove it"));
}

absl::Status ParseRecords(
    absl::string_view text, const RecordFormat& format,
    absl::FunctionRef<absl::Status(const Record&)> handle) {
  const auto not_this_format = [&](int line) {
    return Record(format, line, {})
        .Error(absl::StrCat("not a version ", format.version, " ", format.name,
                            " file"));
  };
  if (text.empty()) return not_this_format(1);
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) {
      if (line_number == 1) return not_this_format(1);
      continue;
    }
    std::vector<std::string> fields;
    for (absl::string_view raw : absl::StrSplit(line, '\t')) {
      std::string field;
      if (!absl::CUnescape(raw, &field)) {
        return Record(format, line_number, {}).Error("badly escaped field");
      }
      fields.push_back(std::move(field));
    }
    Record record(format, line_number, std::move(fields));
    if (line_number == 1) {
      if (record.size() != 2 || record.kind() != format.header ||
          record.Str(1) != format.version) {
        return not_this_format(1);
      }
      continue;
    }
    absl::Status status = handle(record);
    if (!status.ok()) return status;
  }
  if (text.back() != '\n') {
    return Record(format, line_number, {}).Error("file is truncated");
  }
  return absl::OkStatus();
}

}  // namespace pitstop::sdk
