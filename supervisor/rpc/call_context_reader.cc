#include "supervisor/rpc/call_context_reader.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

namespace pitstop {

namespace pb = google::protobuf;

absl::Status ReadCallContext(absl::string_view request,
                             pitstop::driver::v1::CallContext* context) {
  context->Clear();
  pb::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(request.data()),
                              static_cast<int>(request.size()));
  const auto invalid = [] {
    return absl::InvalidArgumentError(
        "the request is not a valid protobuf message with a CallContext as "
        "field 1");
  };
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (pb::internal::WireFormatLite::GetTagFieldNumber(tag) == 1) {
      if (pb::internal::WireFormatLite::GetTagWireType(tag) !=
          pb::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        return invalid();
      }
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return invalid();
      auto limit = in.PushLimit(static_cast<int>(length));
      // Repeated occurrences merge, as protobuf parsing does.
      if (!context->MergePartialFromCodedStream(&in) ||
          !in.ConsumedEntireMessage()) {
        return invalid();
      }
      in.PopLimit(limit);
    } else if (!pb::internal::WireFormatLite::SkipField(&in, tag)) {
      return invalid();
    }
  }
  // ReadTag() also returns 0 on a malformed tag; only a clean end counts.
  if (!in.ConsumedEntireMessage()) return invalid();
  return absl::OkStatus();
}

}  // namespace pitstop
