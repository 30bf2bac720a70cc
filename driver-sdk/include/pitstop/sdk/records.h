#ifndef PITSTOP_SDK_RECORDS_H_
#define PITSTOP_SDK_RECORDS_H_

// A plain text format for state files (see state_file.h): a header line
// naming the format and its version, then one record a line, fields
// separated by tabs, each field C-escaped so that any byte (tabs, newlines,
// serialized protocol messages) is safe. The first field of a record is its
// kind. Optional: a TypedStateFile's codec may use any format.
//
//   flashpool-state	1
//   pool	gold	Gold tier	10995116277760	0
//
// Not thread-safe; every function is pure computation on its arguments.

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace pitstop::sdk {

struct RecordFormat {
  absl::string_view name;     // In error messages, e.g. "flashpool state".
  absl::string_view header;   // The first line's kind, e.g. "flashpool-state".
  absl::string_view version;  // The first line's second field, e.g. "1".
};

// Builds the text of a record file, starting with the format's header.
class RecordWriter {
 public:
  explicit RecordWriter(const RecordFormat& format) {
    Add(format.header, format.version);
  }

  // Appends one record. A field is anything convertible to absl::string_view
  // (escaped), an integer (decimal) or a bool ("1" or "0").
  template <typename... Fields>
  void Add(const Fields&... fields) {
    static_assert(sizeof...(fields) > 0, "a record has at least its kind");
    const std::string escaped[] = {Field(fields)...};
    for (size_t i = 0; i < sizeof...(fields); ++i) {
      absl::StrAppend(&out_, i == 0 ? "" : "\t", escaped[i]);
    }
    out_ += '\n';
  }

  std::string Take() { return std::move(out_); }

 private:
  template <typename T>
  static std::string Field(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      return value ? "1" : "0";
    } else if constexpr (std::is_integral_v<T>) {
      return absl::StrCat(value);
    } else {
      return absl::CEscape(absl::string_view(value));
    }
  }

  std::string out_;
};

// The unescaped fields of one record, with its line for error messages.
class Record {
 public:
  Record(const RecordFormat& format, int line, std::vector<std::string> fields)
      : format_(format), line_(line), fields_(std::move(fields)) {}

  int line() const { return line_; }
  size_t size() const { return fields_.size(); }
  const std::string& kind() const { return fields_[0]; }
  const std::string& Str(size_t i) const { return fields_[i]; }

  // DATA_LOSS unless the record has exactly `count` fields (kind included).
  absl::Status Expect(size_t count) const;
  // Field `i` as a number, or as "0"/"1"; DATA_LOSS otherwise.
  absl::Status Uint(size_t i, uint64_t* out) const;
  absl::Status Bool(size_t i, bool* out) const;

  // DATA_LOSS: "<format name> line <line>: <what>; restore the state
  // directory from a backup or remove it".
  absl::Status Error(absl::string_view what) const;

 private:
  RecordFormat format_;
  int line_;
  std::vector<std::string> fields_;
};

// Checks the header, then calls `handle` for each record in order (empty
// lines are skipped) and stops at its first error. Errors: DATA_LOSS for
// text that is empty, has another header or version, has a badly escaped
// field or does not end in a newline (a truncated file); `handle`'s error.
absl::Status ParseRecords(
    absl::string_view text, const RecordFormat& format,
    absl::FunctionRef<absl::Status(const Record&)> handle);

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_RECORDS_H_
