#include "supervisor/core/call_history.h"

#include <catch2/catch.hpp>

#include "absl/time/time.h"

namespace pitstop {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1800000000);

TEST_CASE("call history gives rates, error rates and quantiles over a window") {
  CallStats stats({"/s/A"});
  CallHistory history(stats);
  VersionCalls* v1 = stats.For("d", "1.0.0");
  for (int i = 0; i < 50; ++i) v1->Record(0, 0, absl::Microseconds(200));
  history.Sample(kStart);
  // In the next 10 s: 100 calls, 10 of them INTERNAL, 2 NOT_FOUND.
  for (int i = 0; i < 88; ++i) v1->Record(0, 0, absl::Microseconds(400));
  for (int i = 0; i < 10; ++i) v1->Record(0, 13, absl::Milliseconds(20));
  for (int i = 0; i < 2; ++i) v1->Record(0, 5, absl::Microseconds(400));
  for (int s = 1; s <= 10; ++s) history.Sample(kStart + absl::Seconds(s));

  const std::vector<CallFigures> f =
      history.Over(kStart + absl::Seconds(10), absl::Seconds(10));
  REQUIRE(f.size() == 1);
  CHECK(f[0].version == "1.0.0");
  CHECK(f[0].span == absl::Seconds(10));
  CHECK(f[0].calls == 100);
  CHECK(f[0].calls_per_second == Approx(10));
  CHECK(f[0].driver_errors == 10);  // NOT_FOUND is the caller's
  CHECK(f[0].error_rate == Approx(0.1));
  CHECK(f[0].calls_total == 150);
  // 90 of 100 between 250 and 500 µs; the 10 slow ones at 20 ms.
  CHECK(f[0].p50_seconds > 0.00025);
  CHECK(f[0].p50_seconds <= 0.0005);
  CHECK(f[0].p99_seconds > 0.01);
  CHECK(f[0].p99_seconds <= 0.025);
}

TEST_CASE("call history starts a version that appears later from zero") {
  CallStats stats({"/s/A"});
  CallHistory history(stats);
  stats.For("d", "1.0.0")->Record(0, 0, absl::Microseconds(200));
  history.Sample(kStart);
  VersionCalls* v2 = stats.For("d", "2.0.0");
  for (int i = 0; i < 4; ++i) v2->Record(0, 14, absl::Microseconds(200));
  history.Sample(kStart + absl::Seconds(1));
  history.Sample(kStart + absl::Seconds(2));

  const std::vector<CallFigures> f =
      history.Over(kStart + absl::Seconds(2), absl::Seconds(60));
  REQUIRE(f.size() == 2);
  CHECK(f[0].calls == 0);  // 1.0.0's call was before the oldest sample
  CHECK(f[1].version == "2.0.0");
  CHECK(f[1].calls == 4);
  CHECK(f[1].error_rate == 1);
  CHECK(f[1].span == absl::Seconds(2));  // only two seconds are kept

  const std::vector<CallHistory::Point> series =
      history.Series("d", absl::Seconds(60));
  REQUIRE(series.size() == 2);
  REQUIRE(series[0].versions.size() == 2);
  CHECK(series[0].versions[1].calls == 4);  // in the first second
  CHECK(series[1].versions[1].calls == 0);
  CHECK(history.Series("other", absl::Seconds(60))[0].versions.empty());
}

TEST_CASE("call history keeps only its capacity of samples") {
  CallStats stats({"/s/A"});
  CallHistory history(stats, 5);
  VersionCalls* v = stats.For("d", "1");
  for (int s = 0; s < 20; ++s) {
    v->Record(0, 0, absl::Microseconds(200));
    history.Sample(kStart + absl::Seconds(s));
  }
  CHECK(history.Series("d", absl::Hours(1)).size() == 4);
  const std::vector<CallFigures> f =
      history.Over(kStart + absl::Seconds(19), absl::Hours(1));
  CHECK(f[0].span == absl::Seconds(4));
  CHECK(f[0].calls == 4);
  CHECK(f[0].calls_total == 20);
}

}  // namespace
}  // namespace pitstop
