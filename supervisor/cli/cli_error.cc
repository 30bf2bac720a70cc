#include "supervisor/cli/cli_error.h"

#include <iostream>

#include "absl/strings/str_cat.h"

namespace pitstop {

int Error(absl::string_view message) {
  std::cerr << "pitstop: " << message << "\n";
  return kExitFailure;
}

std::string CodeName(grpc::StatusCode code) {
  constexpr const char* kNames[] = {"OK",
                                    "CANCELLED",
                                    "UNKNOWN",
                                    "INVALID_ARGUMENT",
                                    "DEADLINE_EXCEEDED",
                                    "NOT_FOUND",
                                    "ALREADY_EXISTS",
                                    "PERMISSION_DENIED",
                                    "RESOURCE_EXHAUSTED",
                                    "FAILED_PRECONDITION",
                                    "ABORTED",
                                    "OUT_OF_RANGE",
                                    "UNIMPLEMENTED",
                                    "INTERNAL",
                                    "UNAVAILABLE",
                                    "DATA_LOSS",
                                    "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : absl::StrCat("CODE_", i);
}

int RpcError(absl::string_view address, const grpc::Status& status) {
  std::string message =
      absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("failed to connect") != std::string::npos) {
    absl::StrAppend(&message, "\n  is pitstopd running and serving on ",
                    address, "? (set --address or PITSTOP_ADDRESS)");
  }
  return Error(message);
}

}  // namespace pitstop
