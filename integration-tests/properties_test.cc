// Property bags through the real daemon: validation before the driver,
// defaults, dry runs, and secrets that never come back out.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "integration-tests/daemon_fixture.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
namespace fs = std::filesystem;

constexpr char kSecret[] = "Zq9-unique-secret-7731";

using Bag = google::protobuf::Map<std::string, dv1::PropertyValue>;

Bag ValidBag() {
  Bag bag;
  bag["management_vip"].set_string_value("10.0.0.5");
  bag["storage_vip"].set_string_value("10.0.1.5");
  bag["admin_username"].set_string_value("admin");
  bag["admin_password"].set_string_value(kSecret);
  return bag;
}

// How many operations flashpool has handled, from its own counter.
int64_t CallsHandled(Daemon& daemon) {
  dv1::GetStorageCapabilitiesRequest req;
  *req.mutable_context()->mutable_properties() = ValidBag();
  dv1::GetStorageCapabilitiesResponse resp;
  auto ctx = daemon.Routed("flashpool");
  grpc::Status s = daemon.storage().GetCapabilities(ctx.get(), req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
  int64_t n = -1;
  REQUIRE(absl::SimpleAtoi(resp.capabilities().at("calls_handled"), &n));
  return n;
}

TEST_CASE(
    "invalid bags are refused with every violation before reaching "
    "the driver",
    "[integration]") {
  Daemon daemon;
  struct Case {
    const char* what;
    std::function<void(Bag&)> change;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"required key missing",
       [](Bag& b) { b.erase("management_vip"); },
       {"management_vip: is required but missing"}},
      {"required key empty",
       [](Bag& b) { b["storage_vip"].set_string_value(""); },
       {"storage_vip: is required and must not be empty"}},
      {"too long",
       [](Bag& b) {
         b["management_vip"].set_string_value(std::string(300, 'a'));
       },
       {"longer than 255 characters"}},
      {"not a number",
       [](Bag& b) { b["default_min_iops"].set_string_value("lots"); },
       {"'lots' is not a decimal number"}},
      {"below the minimum",
       [](Bag& b) { b["default_min_iops"].set_number_value("50"); },
       {"below the minimum 100"}},
      {"above the maximum",
       [](Bag& b) { b["default_max_iops"].set_string_value("1e9"); },
       {"above the maximum"}},
      {"wrong type",
       [](Bag& b) { b["admin_username"].set_bool_value(true); },
       {"admin_username: expected a string, got a boolean"}},
      {"unknown key",
       [](Bag& b) { b["colour"].set_string_value("blue"); },
       {"colour: driver flashpool declares no such property"}},
      {"several at once",
       [](Bag& b) {
         b.erase("admin_username");
         b["burst_iops_percent"].set_string_value("1,5");
         b["zzz"].set_string_value("?");
       },
       {"has 3 problems", "admin_username: is required",
        "burst_iops_percent:", "zzz:"}},
  };
  const int64_t before = CallsHandled(daemon);
  for (const Case& c : cases) {
    INFO(c.what);
    dv1::CreateVolumeRequest req;
    req.mutable_context()->mutable_resource()->set_type("volume");
    req.mutable_context()->mutable_resource()->set_id("bad");
    *req.mutable_context()->mutable_properties() = ValidBag();
    c.change(*req.mutable_context()->mutable_properties());
    req.set_size_bytes(1 << 20);
    dv1::CreateVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().CreateVolume(ctx.get(), req, &resp);
    INFO(s.error_message());
    REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    for (const std::string& e : c.expected) {
      REQUIRE(s.error_message().find(e) != std::string::npos);
    }
    REQUIRE(s.error_message().find(kSecret) == std::string::npos);
  }
  // Only the counter query itself reached the driver.
  REQUIRE(CallsHandled(daemon) == before + 1);
}

TEST_CASE("the driver receives defaults and typed values", "[integration]") {
  Daemon daemon;
  dv1::CreateVolumeRequest req;
  req.mutable_context()->mutable_resource()->set_type("volume");
  req.mutable_context()->mutable_resource()->set_id("typed");
  *req.mutable_context()->mutable_properties() = ValidBag();
  // As text, the way a string map sends it; the driver gets a number.
  (*req.mutable_context()->mutable_properties())["default_max_iops"]
      .set_string_value("2.5e3");
  req.set_size_bytes(1 << 20);
  dv1::CreateVolumeResponse resp;
  auto ctx = daemon.Routed("flashpool");
  grpc::Status s = daemon.storage().CreateVolume(ctx.get(), req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
  // min from the schema default (100), max from the converted text, burst
  // from the default 150%.
  REQUIRE(resp.details().at("min_iops") == "100");
  REQUIRE(resp.details().at("max_iops") == "2500");
  REQUIRE(resp.details().at("burst_iops") == "3750");
}

TEST_CASE("the schema comes with labels for the requested locale",
          "[integration]") {
  Daemon daemon;
  grpc::ClientContext ctx;
  sv1::GetDriverRequest req;
  req.set_name("flashpool");
  req.set_locale("de_AT");
  sv1::Driver d;
  REQUIRE(daemon.admin().GetDriver(&ctx, req, &d).ok());
  REQUIRE(d.locale() == "de_AT");
  std::map<std::string, const sv1::PropertySchema*> by_key;
  for (const auto& p : d.properties()) by_key[p.key()] = &p;
  // From messages_de (through the language), from the default bundle when
  // the German one lacks the key.
  REQUIRE(by_key["admin_username"]->label() == "Administrator-Benutzername");
  REQUIRE(by_key["admin_username"]->description() ==
          "Cluster administrator account used to manage the array.");
  REQUIRE(by_key["default_min_iops"]->minimum() == "100");
  REQUIRE(by_key["default_min_iops"]->maximum() == "15000");
  REQUIRE(by_key["qos_tier"]->allowed_values_size() == 3);

  CommandResult describe =
      RunCommand({PITSTOP_CLI_PATH, "--address", daemon.address(), "describe",
                  "flashpool", "--locale", "de"});
  REQUIRE(describe.exit_code == 0);
  REQUIRE(describe.out.find("Standard-Mindest-IOPS") != std::string::npos);
  REQUIRE(describe.out.find(">= 100, <= 15000") != std::string::npos);
  REQUIRE(describe.out.find("one of bronze|silver|gold") != std::string::npos);
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("a secret value never appears in anything the daemon writes",
          "[integration]") {
  Daemon daemon;
  std::string seen;  // everything the daemon and the CLI showed us

  // A routed call that succeeds and one that fails validation.
  {
    dv1::CreateVolumeRequest req;
    req.mutable_context()->mutable_resource()->set_type("volume");
    req.mutable_context()->mutable_resource()->set_id("s1");
    *req.mutable_context()->mutable_properties() = ValidBag();
    req.set_size_bytes(1 << 20);
    dv1::CreateVolumeResponse resp;
    auto ctx = daemon.Routed("flashpool");
    REQUIRE(daemon.storage().CreateVolume(ctx.get(), req, &resp).ok());
    seen += resp.DebugString();
    (*req.mutable_context()->mutable_properties())["default_min_iops"]
        .set_string_value("1");
    auto ctx2 = daemon.Routed("flashpool");
    grpc::Status s = daemon.storage().CreateVolume(ctx2.get(), req, &resp);
    REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    seen += s.error_message();
  }
  // The admin API: describe, list, dry runs valid and invalid.
  {
    seen += daemon.GetDriver("flashpool").DebugString();
    grpc::ClientContext ctx;
    sv1::ValidatePropertiesRequest req;
    req.set_name("flashpool");
    *req.mutable_properties() = ValidBag();
    sv1::ValidatePropertiesResponse resp;
    REQUIRE(daemon.admin().ValidateProperties(&ctx, req, &resp).ok());
    REQUIRE(resp.valid());
    REQUIRE(resp.properties().at("admin_password").string_value() == "***");
    REQUIRE(resp.properties().at("default_min_iops").number_value() == "100");
    seen += resp.DebugString();
    grpc::ClientContext ctx2;
    (*req.mutable_properties())["admin_password"].set_number_value("12");
    (*req.mutable_properties())["management_vip"].set_string_value("");
    REQUIRE(daemon.admin().ValidateProperties(&ctx2, req, &resp).ok());
    REQUIRE(!resp.valid());
    REQUIRE(resp.violations_size() == 2);
    seen += resp.DebugString();
  }
  // The CLI.
  const std::vector<std::string> props = {
      "--prop", "management_vip=10.0.0.5",
      "--prop", "storage_vip=10.0.1.5",
      "--prop", "admin_username=admin",
      "--prop", std::string("admin_password=") + kSecret};
  for (std::vector<std::string> args : {
           std::vector<std::string>{"validate", "flashpool"},
           std::vector<std::string>{"validate", "flashpool", "--output",
                                    "json"},
           std::vector<std::string>{"call", "flashpool", "GetStats",
                                    "--resource", "volume/s1"},
           std::vector<std::string>{"describe", "flashpool"},
       }) {
    std::vector<std::string> argv = {PITSTOP_CLI_PATH, "--address",
                                     daemon.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (args[0] != "describe")
      argv.insert(argv.end(), props.begin(), props.end());
    CommandResult r = RunCommand(argv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    seen += r.out + r.err;
  }
  CommandResult bad = RunCommand(
      {PITSTOP_CLI_PATH, "--address", daemon.address(), "validate", "flashpool",
       "--prop", std::string("admin_password=") + kSecret, "--prop",
       "default_min_iops=5"});
  REQUIRE(bad.exit_code != 0);
  REQUIRE(bad.err.find("default_min_iops") != std::string::npos);
  seen += bad.out + bad.err;

  REQUIRE(daemon.Terminate().Clean());
  seen += daemon.Log();
  REQUIRE(seen.find("***") != std::string::npos);  // redaction happened
  REQUIRE(seen.find(kSecret) == std::string::npos);
  // Nothing the daemon stored on disk holds it either.
  for (const auto& entry : fs::recursive_directory_iterator(daemon.dir())) {
    if (!entry.is_regular_file()) continue;
    INFO(entry.path());
    REQUIRE(ReadAll(entry.path()).find(kSecret) == std::string::npos);
  }
}

}  // namespace
}  // namespace pitstop
