#include "supervisor/cli/stats_text.h"

#include <catch2/catch.hpp>
#include <sstream>

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

TEST_CASE("figures print in units a person reads at a glance", "[cli]") {
  CHECK(LatencyText(0) == "-");
  CHECK(LatencyText(0.000183) == "183µs");
  CHECK(LatencyText(0.0042) == "4.2ms");
  CHECK(LatencyText(1.5) == "1.50s");
  CHECK(RateText(0) == "0");
  CHECK(RateText(12.34) == "12.3");
  CHECK(RateText(1234.5) == "1234");
  CHECK(ErrorRateText(0.0123, 10) == "1.2%");
  CHECK(ErrorRateText(0, 0) == "-");  // no calls: no rate
  CHECK(BytesText(0) == "-");
  CHECK(BytesText(512) == "512B");
  CHECK(BytesText(1536) == "1.5KiB");
  CHECK(BytesText(52428800) == "50.0MiB");
}

sv1::ListDriversResponse TwoDrivers() {
  sv1::ListDriversResponse drivers;
  sv1::Driver* a = drivers.add_drivers();
  a->set_name("flashpool");
  a->set_version("1.0.0");
  a->set_state(sv1::DRIVER_STATE_READY);
  a->set_pid(812);
  a->set_restarts(2);
  sv1::Driver* b = drivers.add_drivers();
  b->set_name("nvpnet");
  b->set_version("3.1.0");
  b->set_state(sv1::DRIVER_STATE_STOPPED);
  return drivers;
}

TEST_CASE("top has a row per driver with its active version's figures",
          "[cli]") {
  sv1::GetDriverStatsResponse stats;
  stats.set_counting(true);
  sv1::DriverStats* d = stats.add_drivers();
  d->set_name("flashpool");
  d->set_calls_waiting(3);
  sv1::VersionStats* v = d->add_versions();
  v->set_version("1.0.0");
  v->set_calls_per_second(250);
  v->set_error_rate(0.02);
  v->set_p50_seconds(0.0002);
  v->set_p99_seconds(0.012);
  v->set_memory_bytes(20 << 20);
  v->set_cpu_seconds(3.25);
  v->set_processes(1);

  const auto rows = TopRows(TwoDrivers(), stats);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0][4] == "CALLS/S");
  CHECK(rows[1] == std::vector<std::string>{
                       "flashpool", "READY", "1.0.0", "812", "250", "2.0%",
                       "200µs", "12.0ms", "20.0MiB", "3.2s", "2", "3"});
  // No figures for a driver the stats do not name.
  CHECK(rows[2][0] == "nvpnet");
  CHECK(rows[2][3] == "-");
  CHECK(rows[2][4] == "0");
}

TEST_CASE("top shows both versions during an upgrade", "[cli]") {
  sv1::ListDriversResponse drivers = TwoDrivers();
  sv1::Driver* a = drivers.mutable_drivers(0);
  sv1::Instance* old_one = a->add_instances();
  old_one->set_version("1.0.0");
  old_one->set_role("draining");
  old_one->set_pid(812);
  sv1::Instance* new_one = a->add_instances();
  new_one->set_version("2.0.0");
  new_one->set_role("serving");
  new_one->set_pid(900);
  sv1::GetDriverStatsResponse stats;
  sv1::DriverStats* d = stats.add_drivers();
  d->set_name("flashpool");
  for (const char* version : {"1.0.0", "2.0.0"}) {
    sv1::VersionStats* v = d->add_versions();
    v->set_version(version);
    v->set_processes(1);
    v->set_calls_per_second(version[0] == '1' ? 1 : 99);
  }
  const auto rows = TopRows(drivers, stats);
  REQUIRE(rows.size() == 5);
  CHECK(rows[2][0] == "  draining");
  CHECK(rows[2][4] == "1.0");
  CHECK(rows[3][0] == "  serving");
  CHECK(rows[3][2] == "2.0.0");
  CHECK(rows[3][4] == "99.0");
}

TEST_CASE("describe says when calls are not counted", "[cli]") {
  std::ostringstream out;
  PrintStats(sv1::DriverStats(), false, out);
  CHECK(out.str().find("count_calls: false") != std::string::npos);
  std::ostringstream none;
  PrintStats(sv1::DriverStats(), true, none);
  CHECK(none.str() == "calls: none yet\n");
}

}  // namespace
}  // namespace pitstop
