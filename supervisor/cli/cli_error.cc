#include "supervisor/cli/cli_error.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "supervisor/common/grpc_codes.h"

namespace pitstop {

int Error(absl::string_view message) {
  std::cerr << "pitstop: " << message << "\n";
  return kExitFailure;
}

std::string CodeName(grpc::StatusCode code) {
  const int i = static_cast<int>(code);
  const absl::string_view name = GrpcCodeName(i);
  return name.empty() ? absl::StrCat("CODE_", i) : std::string(name);
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
