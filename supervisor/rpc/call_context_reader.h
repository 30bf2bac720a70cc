#ifndef PITSTOP_SUPERVISOR_RPC_CALL_CONTEXT_READER_H_
#define PITSTOP_SUPERVISOR_RPC_CALL_CONTEXT_READER_H_

// Reads field 1 (the CallContext) of a serialized operation request without
// parsing, copying or re-encoding the rest: every other field is skipped.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pitstop/driver/v1/context.pb.h"

namespace pitstop {

// INVALID_ARGUMENT when the bytes are not a valid protobuf message or field 1
// is not a CallContext. A request without field 1 yields an empty context.
absl::Status ReadCallContext(absl::string_view request,
                             pitstop::driver::v1::CallContext* context);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_CALL_CONTEXT_READER_H_
