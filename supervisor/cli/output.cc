#include "supervisor/cli/output.h"

#include "supervisor/cli/cli_json.h"

namespace pitstop {

void Output::Json(const google::protobuf::Value& value) const {
  out_ << JsonText(value);
}

void Output::Message(const google::protobuf::Message& message) const {
  out_ << MessageJson(message, JsonLayout::kIndented);
}

void Output::MessageLine(const google::protobuf::Message& message) const {
  out_ << MessageJson(message, JsonLayout::kOneLine) << std::endl;
}

void Output::Table(const std::vector<std::vector<std::string>>& rows) const {
  out_ << FormatTable(rows);
}

}  // namespace pitstop
