#ifndef PITSTOP_SUPERVISOR_CLI_CLI_ERROR_H_
#define PITSTOP_SUPERVISOR_CLI_CLI_ERROR_H_

// How `pitstop` reports a failure: one line on stderr, "pitstop: ...", and
// exit code 1.

#include <grpcpp/support/status.h>

#include <string>

#include "absl/strings/string_view.h"

namespace pitstop {

// The exit code of a command that failed.
inline constexpr int kExitFailure = 1;

// Prints "pitstop: <message>" to stderr; returns kExitFailure.
int Error(absl::string_view message);

// "NOT_FOUND", "UNAVAILABLE", ...; "CODE_<n>" for an unknown code.
std::string CodeName(grpc::StatusCode code);

// Prints a failed call as "pitstop: CODE: message", with a hint about the
// daemon's `address` when it could not be reached; returns kExitFailure.
int RpcError(absl::string_view address, const grpc::Status& status);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_CLI_ERROR_H_
