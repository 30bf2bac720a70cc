#ifndef PITSTOP_SUPERVISOR_CLI_DRIVER_TEXT_H_
#define PITSTOP_SUPERVISOR_CLI_DRIVER_TEXT_H_

// A driver as text for people (`pitstop describe`).

#include <ostream>
#include <string>

#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

// The pid, or "-" when no process runs.
std::string PidText(const pitstop::supervisor::v1::Driver& driver);

// Every field of `driver`, one per line, then its properties as a table.
void PrintDriver(const pitstop::supervisor::v1::Driver& driver,
                 std::ostream& out);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_DRIVER_TEXT_H_
