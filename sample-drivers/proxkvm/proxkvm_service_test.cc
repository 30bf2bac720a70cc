#include "proxkvm_service.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "pitstop/sdk/testing/temp_dir.h"

namespace pitstop::proxkvm {
namespace {

namespace v1 = ::pitstop::driver::v1;

constexpr uint64_t kGiB = uint64_t{1} << 30;

v1::CallContext Context(const std::string& type, const std::string& id,
                        const std::string& operation_id = "") {
  v1::CallContext context;
  context.mutable_resource()->set_type(type);
  context.mutable_resource()->set_id(id);
  context.set_operation_id(operation_id);
  context.set_caller("test");
  auto& props = *context.mutable_properties();
  props["url"].set_string_value("https://pve1.example.com:8006");
  props["user"].set_string_value("cloudstack@pve");
  props["token"].set_string_value("t0ken-s3cret");
  props["node"].set_string_value("pve1");
  return context;
}

// The driver called in-process, as the daemon would call it.
class Fixture {
 public:
  Fixture() { Reopen(); }

  void Reopen() {
    service_.reset();
    auto service = ProxkvmService::Create(dir_.path());
    REQUIRE(service.ok());
    service_ = *std::move(service);
  }

  ProxkvmService& service() { return *service_; }
  grpc::ServerContext* ctx() { return &server_context_; }

  grpc::Status Connect(const std::string& host,
                       v1::ConnectHostResponse* out = nullptr) {
    v1::ConnectHostRequest request;
    *request.mutable_context() = Context("host", host);
    v1::ConnectHostResponse response;
    grpc::Status s = service_->ConnectHost(ctx(), &request, &response);
    if (out) *out = response;
    return s;
  }

  grpc::Status Prepare(const std::string& vm, uint64_t memory = 4 * kGiB,
                       v1::PrepareVmResponse* out = nullptr,
                       const std::string& operation_id = "") {
    v1::PrepareVmRequest request;
    *request.mutable_context() = Context("vm", vm, operation_id);
    request.mutable_spec()->set_name(vm + "-name");
    request.mutable_spec()->set_cpus(2);
    request.mutable_spec()->set_memory_bytes(memory);
    v1::PrepareVmResponse response;
    grpc::Status s = service_->PrepareVm(ctx(), &request, &response);
    if (out) *out = response;
    return s;
  }

  grpc::Status Start(const std::string& vm, const std::string& host = "") {
    v1::StartVmRequest request;
    *request.mutable_context() = Context("vm", vm);
    request.set_host(host);
    v1::StartVmResponse response;
    return service_->StartVm(ctx(), &request, &response);
  }

  grpc::Status Stop(const std::string& vm) {
    v1::StopVmRequest request;
    *request.mutable_context() = Context("vm", vm);
    v1::StopVmResponse response;
    return service_->StopVm(ctx(), &request, &response);
  }

  grpc::Status Migrate(const std::string& vm, const std::string& to) {
    v1::MigrateVmRequest request;
    *request.mutable_context() = Context("vm", vm);
    request.set_destination_host(to);
    v1::MigrateVmResponse response;
    return service_->MigrateVm(ctx(), &request, &response);
  }

  std::map<std::string, v1::PowerState> States(const std::string& host) {
    v1::HostVmStatesRequest request;
    *request.mutable_context() = Context("host", host);
    v1::HostVmStatesResponse response;
    REQUIRE(service_->HostVmStates(ctx(), &request, &response).ok());
    return {response.vm_states().begin(), response.vm_states().end()};
  }

 private:
  sdk::testing::TempDir dir_;
  grpc::ServerContext server_context_;
  std::unique_ptr<ProxkvmService> service_;
};

TEST_CASE("proxkvm connects hosts and reports stable facts", "[proxkvm]") {
  Fixture f;
  v1::ConnectHostResponse first;
  REQUIRE(f.Connect("pve1", &first).ok());
  REQUIRE(first.cpus() >= 16);
  REQUIRE(first.memory_bytes() > 0);
  f.Reopen();
  v1::ConnectHostResponse again;
  REQUIRE(f.Connect("pve1", &again).ok());
  REQUIRE(again.cpus() == first.cpus());

  v1::HostVmStatesRequest request;
  *request.mutable_context() = Context("host", "pve9");
  v1::HostVmStatesResponse response;
  grpc::Status s = f.service().HostVmStates(f.ctx(), &request, &response);
  REQUIRE(s.error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(s.error_message().find("pve9") != std::string::npos);
}

TEST_CASE("proxkvm refuses a plain http url unless verify_tls is off",
          "[proxkvm]") {
  Fixture f;
  v1::ConnectHostRequest request;
  *request.mutable_context() = Context("host", "pve1");
  request.set_url("http://pve1.example.com:8006");
  v1::ConnectHostResponse response;
  REQUIRE(f.service().ConnectHost(f.ctx(), &request, &response).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
  (*request.mutable_context()->mutable_properties())["verify_tls"]
      .set_bool_value(false);
  REQUIRE(f.service().ConnectHost(f.ctx(), &request, &response).ok());

  (*request.mutable_context()->mutable_properties())["disk_size_gb"]
      .set_number_value("0");
  grpc::Status s = f.service().ConnectHost(f.ctx(), &request, &response);
  REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(s.error_message().find("disk_size_gb") != std::string::npos);
}

TEST_CASE("proxkvm runs a VM through its power states", "[proxkvm]") {
  Fixture f;
  REQUIRE(f.Start("vm-1").error_code() == grpc::StatusCode::NOT_FOUND);
  v1::PrepareVmResponse prepared;
  REQUIRE(f.Prepare("vm-1", 4 * kGiB, &prepared).ok());
  REQUIRE(prepared.details().at("vendor_vm_id") == "100");
  REQUIRE(prepared.details().at("root_disk_bytes") ==
          std::to_string(64 * kGiB));
  // The default node, pve1, is not connected yet.
  REQUIRE(f.Start("vm-1").error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.Connect("pve1").ok());
  REQUIRE(f.Start("vm-1").ok());
  REQUIRE(f.Start("vm-1").ok());
  REQUIRE(f.States("pve1").at("vm-1-name") == v1::POWER_STATE_ON);

  v1::GetConsoleRequest console_request;
  *console_request.mutable_context() = Context("vm", "vm-1");
  v1::GetConsoleResponse console;
  REQUIRE(f.service().GetConsole(f.ctx(), &console_request, &console).ok());
  REQUIRE(console.url().find("https://pve1.example.com:8006/") == 0);
  REQUIRE(console.url().find("vmid=100") != std::string::npos);
  REQUIRE(console.port() == 5900);
  REQUIRE_FALSE(console.password().empty());

  v1::ExpungeVmRequest expunge;
  *expunge.mutable_context() = Context("vm", "vm-1");
  v1::ExpungeVmResponse expunged;
  REQUIRE(f.service().ExpungeVm(f.ctx(), &expunge, &expunged).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.Prepare("vm-1").error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);

  REQUIRE(f.Stop("vm-1").ok());
  REQUIRE(f.States("pve1").at("vm-1-name") == v1::POWER_STATE_OFF);
  v1::RebootVmRequest reboot;
  *reboot.mutable_context() = Context("vm", "vm-1");
  v1::RebootVmResponse rebooted;
  REQUIRE(f.service().RebootVm(f.ctx(), &reboot, &rebooted).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.service()
              .GetConsole(f.ctx(), &console_request, &console)
              .error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.service().ExpungeVm(f.ctx(), &expunge, &expunged).ok());
  REQUIRE(f.States("pve1").empty());
}

TEST_CASE("proxkvm migrates VMs between connected hosts", "[proxkvm]") {
  Fixture f;
  REQUIRE(f.Connect("pve1").ok());
  REQUIRE(f.Prepare("vm-1").ok());
  REQUIRE(f.Migrate("vm-1", "pve1").error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.Start("vm-1", "pve1").ok());
  REQUIRE(f.Migrate("vm-1", "pve2").error_code() ==
          grpc::StatusCode::NOT_FOUND);
  REQUIRE(f.Connect("pve2").ok());
  REQUIRE(f.Migrate("vm-1", "pve2").ok());
  REQUIRE(f.States("pve1").empty());
  REQUIRE(f.States("pve2").at("vm-1-name") == v1::POWER_STATE_ON);
  REQUIRE(f.Start("vm-1", "pve1").error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);

  // A VM bigger than any host's free memory cannot start.
  REQUIRE(f.Prepare("huge", 1024 * 1024 * kGiB).ok());
  REQUIRE(f.Start("huge", "pve1").error_code() ==
          grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_CASE("proxkvm plugs and unplugs NICs", "[proxkvm]") {
  Fixture f;
  REQUIRE(f.Prepare("vm-1").ok());
  v1::PlugNicRequest plug;
  *plug.mutable_context() = Context("vm", "vm-1");
  plug.mutable_nic()->set_id("nic-1");
  plug.mutable_nic()->set_mac("02:00:00:00:00:01");
  v1::PlugNicResponse plugged;
  REQUIRE(f.service().PlugNic(f.ctx(), &plug, &plugged).ok());
  REQUIRE(f.service().PlugNic(f.ctx(), &plug, &plugged).ok());
  plug.mutable_nic()->set_mac("02:00:00:00:00:02");
  REQUIRE(f.service().PlugNic(f.ctx(), &plug, &plugged).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);

  v1::UnplugNicRequest unplug;
  *unplug.mutable_context() = Context("vm", "vm-1");
  unplug.mutable_nic()->set_id("nic-1");
  v1::UnplugNicResponse unplugged;
  REQUIRE(f.service().UnplugNic(f.ctx(), &unplug, &unplugged).ok());
  grpc::Status again = f.service().UnplugNic(f.ctx(), &unplug, &unplugged);
  REQUIRE(again.error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(again.error_message().find("nic-1") != std::string::npos);
}

TEST_CASE("proxkvm replays an operation id instead of applying it twice",
          "[proxkvm]") {
  Fixture f;
  v1::PrepareVmResponse first;
  REQUIRE(f.Prepare("vm-1", 4 * kGiB, &first, "op-1").ok());
  v1::PrepareVmResponse replay;
  REQUIRE(f.Prepare("vm-1", 8 * kGiB, &replay, "op-1").ok());
  REQUIRE(replay.details().at("vendor_vm_id") ==
          first.details().at("vendor_vm_id"));
  REQUIRE(f.Prepare("vm-2", 4 * kGiB, nullptr, "op-1").error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
  v1::PrepareVmResponse second;
  REQUIRE(f.Prepare("vm-2", 4 * kGiB, &second, "op-2").ok());
  REQUIRE(second.details().at("vendor_vm_id") == "101");
}

}  // namespace
}  // namespace pitstop::proxkvm
