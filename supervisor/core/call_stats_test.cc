#include "supervisor/core/call_stats.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "absl/time/time.h"

namespace pitstop {
namespace {

std::vector<std::string> TwoMethods() { return {"/s/A", "/s/B"}; }

TEST_CASE("call stats count each call by version, method and code") {
  CallStats stats(TwoMethods());
  VersionCalls* v1 = stats.For("flashpool", "1.0.0");
  VersionCalls* v2 = stats.For("flashpool", "2.0.0");
  REQUIRE(v1 != v2);
  REQUIRE(stats.For("flashpool", "1.0.0") == v1);  // made once

  v1->Record(0, 0, absl::Microseconds(150));
  v1->Record(0, 0, absl::Microseconds(150));
  v1->Record(0, 13, absl::Milliseconds(3));
  v2->Record(1, 5, absl::Seconds(60));       // above every bound
  v2->Record(1, 99, absl::Microseconds(1));  // not a code: UNKNOWN

  const std::vector<VersionCallsSnapshot> snap = stats.Snapshot();
  REQUIRE(snap.size() == 2);
  REQUIRE(snap[0].version == "1.0.0");
  REQUIRE(snap[0].methods.size() == 1);  // B was never called on 1.0.0
  const MethodCallsSnapshot& a = snap[0].methods[0];
  REQUIRE(a.method == "/s/A");
  REQUIRE(a.codes[0] == 2);
  REQUIRE(a.codes[13] == 1);
  REQUIRE(a.count == 3);
  REQUIRE(a.sum_seconds == Approx(0.0033));
  REQUIRE(a.buckets[1] == 2);  // 150 µs <= 250 µs
  REQUIRE(a.buckets[5] == 1);  // 2.5 ms < 3 ms <= 5 ms
  const MethodCallsSnapshot& b = snap[1].methods[0];
  REQUIRE(b.method == "/s/B");
  REQUIRE(b.codes[5] == 1);
  REQUIRE(b.codes[2] == 1);
  REQUIRE(b.buckets.back() == 1);  // +Inf
  REQUIRE(b.buckets[0] == 1);

  const CallTotals t = TotalsOf(snap[1]);
  REQUIRE(t.calls == 2);
  REQUIRE(t.driver_errors == 1);  // UNKNOWN is the driver's; NOT_FOUND not
}

TEST_CASE("call stats put a call exactly on a bound in that bound's bucket") {
  CallStats stats(TwoMethods());
  VersionCalls* v = stats.For("d", "1");
  v->Record(0, 0, absl::Milliseconds(1));
  const MethodCallsSnapshot m = stats.Snapshot()[0].methods[0];
  REQUIRE(CallLatencyBounds()[3] == 0.001);
  REQUIRE(m.buckets[3] == 1);  // le="0.001" includes 1 ms
}

TEST_CASE("only the driver's failures count as driver errors") {
  for (int code : {2, 4, 13, 14, 15}) REQUIRE(IsDriverError(code));
  for (int code : {0, 1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 16}) {
    REQUIRE_FALSE(IsDriverError(code));
  }
  REQUIRE(CodeLabel(14) == "UNAVAILABLE");
  REQUIRE(CodeLabel(-1) == "UNKNOWN");
}

TEST_CASE("bucket quantiles interpolate inside the bucket") {
  std::vector<uint64_t> buckets(kLatencyBoundCount + 1, 0);
  REQUIRE(BucketQuantile(buckets, 0.5) == 0);  // no calls
  // 100 calls between 250 and 500 µs: the median is half-way.
  buckets[2] = 100;
  REQUIRE(BucketQuantile(buckets, 0.5) == Approx(0.000375));
  REQUIRE(BucketQuantile(buckets, 1.0) == Approx(0.0005));
  // One slow call of 101: p99 is still in the first bucket, p100 above.
  buckets[kLatencyBoundCount] = 1;
  REQUIRE(BucketQuantile(buckets, 0.99) <= 0.0005);
  REQUIRE(BucketQuantile(buckets, 1.0) == Approx(30));
}

TEST_CASE("call stats are read while the writer thread records") {
  CallStats stats(TwoMethods());
  VersionCalls* v = stats.For("d", "1");
  constexpr int kCalls = 200000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kCalls; ++i) {
      v->Record(i % 2, 0, absl::Microseconds(i % 700));
    }
    done = true;
  });
  uint64_t last = 0;
  while (!done) {
    uint64_t now = 0;
    for (const VersionCallsSnapshot& s : stats.Snapshot()) {
      now += TotalsOf(s).calls;
    }
    REQUIRE(now >= last);  // counters never go back
    REQUIRE(now <= kCalls);
    last = now;
  }
  writer.join();
  REQUIRE(TotalsOf(stats.Snapshot()[0]).calls == kCalls);
  REQUIRE(stats.Unrouted()[0] == 0);
  stats.RecordUnrouted(5);
  REQUIRE(stats.Unrouted()[5] == 1);
}

}  // namespace
}  // namespace pitstop
