#ifndef PITSTOP_SUPERVISOR_CLI_OUTPUT_H_
#define PITSTOP_SUPERVISOR_CLI_OUTPUT_H_

// Where a command prints, and in which form: tables and text for people,
// JSON (`--output json`) for programs. Not thread-safe; one per command run.

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include <ostream>
#include <string>
#include <vector>

namespace pitstop {

enum class OutputFormat { kTable, kJson };

class Output {
 public:
  // Prints to `out`, which must outlive this.
  Output(OutputFormat format, std::ostream& out) : format_(format), out_(out) {}

  bool json() const { return format_ == OutputFormat::kJson; }
  std::ostream& out() const { return out_; }

  // Pretty-printed JSON of a value built by the command (JsonText).
  void Json(const google::protobuf::Value& value) const;
  // A message as indented JSON with proto field names and every field.
  void Message(const google::protobuf::Message& message) const;
  // A message as one line of JSON, flushed (a stream of events).
  void MessageLine(const google::protobuf::Message& message) const;
  // Left-aligned columns (FormatTable); the first row is the header.
  void Table(const std::vector<std::vector<std::string>>& rows) const;

 private:
  // Constant after construction
  const OutputFormat format_;
  std::ostream& out_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_OUTPUT_H_
