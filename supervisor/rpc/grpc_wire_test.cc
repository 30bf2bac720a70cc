#include "supervisor/rpc/grpc_wire.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

TEST_CASE("grpc-timeout values parse in every unit the spec allows",
          "[rpc][wire]") {
  CHECK(ParseGrpcTimeout("100m") == absl::Milliseconds(100));
  CHECK(ParseGrpcTimeout("2S") == absl::Seconds(2));
  CHECK(ParseGrpcTimeout("3M") == absl::Minutes(3));
  CHECK(ParseGrpcTimeout("1H") == absl::Hours(1));
  CHECK(ParseGrpcTimeout("250u") == absl::Microseconds(250));
  CHECK(ParseGrpcTimeout("99999999n") == absl::Nanoseconds(99999999));
}

TEST_CASE("malformed grpc-timeout values are refused", "[rpc][wire]") {
  for (const char* bad :
       {"", "m", "100", "100x", "-1m", "123456789m", "1.5S", " 1S"}) {
    INFO(bad);
    CHECK_FALSE(ParseGrpcTimeout(bad).has_value());
  }
}

TEST_CASE("formatted grpc-timeouts fit 8 digits and never shorten the time",
          "[rpc][wire]") {
  CHECK(FormatGrpcTimeout(absl::Milliseconds(100)) == "100000u");
  CHECK(FormatGrpcTimeout(absl::Milliseconds(99)) == "99000000n");
  CHECK(FormatGrpcTimeout(absl::Seconds(2)) == "2000000u");
  CHECK(FormatGrpcTimeout(absl::Seconds(30)) == "30000000u");
  CHECK(FormatGrpcTimeout(absl::Seconds(1000)) == "1000000m");
  CHECK(FormatGrpcTimeout(absl::Nanoseconds(1500000001)) == "1500001u");
  CHECK(FormatGrpcTimeout(absl::ZeroDuration()) == "1n");
  CHECK(FormatGrpcTimeout(-absl::Seconds(1)) == "1n");
  for (absl::Duration d : {absl::Nanoseconds(7), absl::Microseconds(123457),
                           absl::Seconds(86400 * 400)}) {
    const std::string text = FormatGrpcTimeout(d);
    INFO(text);
    REQUIRE(text.size() <= 9);
    CHECK(*ParseGrpcTimeout(text) >= d);
  }
}

TEST_CASE("grpc-message percent-encodes control bytes, non-ASCII and '%'",
          "[rpc][wire]") {
  CHECK(PercentEncode("plain text: ok") == "plain text: ok");
  CHECK(PercentEncode("50% off\n") == "50%25 off%0A");
  CHECK(PercentEncode("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("a unary body is exactly one length-prefixed message",
          "[rpc][wire]") {
  const std::string framed = FrameMessage("hello");
  REQUIRE(framed.size() == 10);
  auto m = SplitUnaryBody(framed);
  REQUIRE(m.has_value());
  CHECK_FALSE(m->compressed);
  CHECK(m->bytes == "hello");

  std::string compressed = framed;
  compressed[0] = 1;
  CHECK(SplitUnaryBody(compressed)->compressed);

  CHECK(SplitUnaryBody(FrameMessage(""))->bytes.empty());
  CHECK_FALSE(SplitUnaryBody("").has_value());
  CHECK_FALSE(SplitUnaryBody(framed.substr(0, 7)).has_value());  // short
  CHECK_FALSE(SplitUnaryBody(framed + FrameMessage("x")).has_value());
  std::string bad_flag = framed;
  bad_flag[0] = 2;
  CHECK_FALSE(SplitUnaryBody(bad_flag).has_value());
}

}  // namespace
}  // namespace pitstop
