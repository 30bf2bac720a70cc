#ifndef PITSTOP_SUPERVISOR_CLI_STATS_TEXT_H_
#define PITSTOP_SUPERVISOR_CLI_STATS_TEXT_H_

// What drivers are doing, as text for people: `pitstop top`'s table and
// the "Calls" section of `pitstop describe`. Pure.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "pitstop/supervisor/v1/admin.pb.h"

namespace pitstop {

// 0.000183 -> "183µs", 0.0042 -> "4.2ms", 1.5 -> "1.50s"; "-" for 0.
std::string LatencyText(double seconds);
// 12.34 -> "12.3", 0 -> "0".
std::string RateText(double per_second);
// 0.0123 -> "1.2%"; "-" without calls.
std::string ErrorRateText(double rate, double calls_per_second);
// 1536 -> "1.5KiB", 52428800 -> "50.0MiB"; "-" for 0.
std::string BytesText(uint64_t bytes);

// One row per driver, and one more per version when two run (an upgrade,
// a graceful restart): NAME STATE VERSION PID CALLS/S ERRORS P50 P99
// MEMORY CPU RESTARTS WAITING. `stats` is matched to `drivers` by name.
std::vector<std::vector<std::string>> TopRows(
    const pitstop::supervisor::v1::ListDriversResponse& drivers,
    const pitstop::supervisor::v1::GetDriverStatsResponse& stats);

// The "Calls" section of `describe`: each version's figures over the
// window and since the daemon started.
void PrintStats(const pitstop::supervisor::v1::DriverStats& stats,
                bool counting, std::ostream& out);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_STATS_TEXT_H_
