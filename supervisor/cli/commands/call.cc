// `pitstop call NAME OPERATION`: one driver operation through pitstopd's
// router, the request built from --json, --resource and --prop; the
// response printed as JSON.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <pwd.h>
#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"
#include "supervisor/cli/property_args.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
namespace pb = google::protobuf;
using Stub = AdminClient::Stub;

std::string ServiceName(dv1::Category category) {
  switch (category) {
    case dv1::CATEGORY_NETWORK:
      return "pitstop.driver.v1.NetworkService";
    case dv1::CATEGORY_HYPERVISOR:
      return "pitstop.driver.v1.HypervisorService";
    default:
      return "pitstop.driver.v1.StorageService";
  }
}

std::unique_ptr<pb::Message> NewMessage(const pb::Descriptor* type) {
  return std::unique_ptr<pb::Message>(
      pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

class CallCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", driver_, "driver name")->required();
    cmd.add_option("OPERATION", operation_, "operation, e.g. CreateVolume")
        ->required();
    cmd.add_option("--resource", resource_,
                   "the resource the call is about, TYPE/ID, e.g. volume/v1 "
                   "(none for a call about no resource)");
    cmd.add_option("--prop", props_,
                   "a property of the bag: KEY=VALUE (repeatable)");
    cmd.add_option(
        "--json", json_,
        "request fields as JSON, e.g. '{\"size_bytes\": 1073741824}'");
    cmd.add_option("--operation-id", operation_id_,
                   "idempotency key (default: a new one, cli-MILLIS-N: each "
                   "run is a new operation)");
    cmd.add_option("--caller", caller_,
                   "who is calling, for the driver's logs (default "
                   "pitstop-cli:USER)");
  }

  int Run(const CommandContext& c) override {
    // Link the category services' descriptors into the generated pool.
    (void)dv1::CreateVolumeRequest::descriptor();
    (void)dv1::ImplementNetworkRequest::descriptor();
    (void)dv1::StartVmRequest::descriptor();

    AdminClient client(c.global);
    sv1::GetDriverRequest get;
    get.set_name(driver_);
    sv1::Driver driver;
    if (!client.Call(&Stub::GetDriver, get, &driver)) return kExitFailure;
    const pb::MethodDescriptor* method = nullptr;
    if (int rc = FindMethod(driver, &method); rc != 0) return rc;
    std::unique_ptr<pb::Message> request = NewMessage(method->input_type());
    if (int rc = FillRequest(*method, request.get()); rc != 0) return rc;
    return Invoke(client, *method, *request, c.output);
  }

 private:
  int FindMethod(const sv1::Driver& driver,
                 const pb::MethodDescriptor** method) const {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(
            ServiceName(driver.category()));
    *method = service ? service->FindMethodByName(operation_) : nullptr;
    if (*method != nullptr) return 0;
    std::vector<std::string> names;
    for (int i = 0; service && i < service->method_count(); ++i) {
      names.push_back(service->method(i)->name());
    }
    return Error(absl::StrCat(
        "driver ", driver_, " is a ", CategoryLabel(driver.category()),
        " driver with no operation '", operation_,
        "'; its operations: ", absl::StrJoin(names, ", ")));
  }

  // The request from --json, then its CallContext (field 1) from the
  // other flags.
  int FillRequest(const pb::MethodDescriptor& method,
                  pb::Message* request) const {
    if (!json_.empty()) {
      auto s = pb::util::JsonStringToMessage(json_, request);
      if (!s.ok()) {
        return Error(absl::StrCat("--json for ", method.input_type()->name(),
                                  ": ", s.message().as_string()));
      }
    }
    auto* context = dynamic_cast<dv1::CallContext*>(
        request->GetReflection()->MutableMessage(
            request, method.input_type()->FindFieldByNumber(1)));
    if (context == nullptr) {
      return Error("internal: field 1 of the request is not a CallContext");
    }
    if (!resource_.empty()) {
      if (auto s = ParseResource(resource_, context->mutable_resource());
          !s.ok()) {
        return Error(s.message());
      }
    }
    if (auto s = ParseProperties(props_, context->mutable_properties());
        !s.ok()) {
      return Error(s.message());
    }
    FillIdentity(context);
    return 0;
  }

  void FillIdentity(dv1::CallContext* context) const {
    if (!operation_id_.empty()) {
      context->set_operation_id(operation_id_);
    } else if (context->operation_id().empty()) {
      std::random_device rd;
      context->set_operation_id(absl::StrCat(
          "cli-", absl::ToUnixMillis(absl::Now()), "-", rd() % 100000));
    }
    if (!caller_.empty()) {
      context->set_caller(caller_);
    } else if (context->caller().empty()) {
      const passwd* user = ::getpwuid(::getuid());
      context->set_caller(
          absl::StrCat("pitstop-cli:", user ? user->pw_name : "unknown"));
    }
  }

  // Sends the request through the router, untyped, and prints the answer.
  int Invoke(AdminClient& client, const pb::MethodDescriptor& method,
             const pb::Message& request, const Output& output) const {
    grpc::ByteBuffer request_bytes;
    bool own = false;
    if (!grpc::SerializationTraits<pb::Message>::Serialize(request,
                                                           &request_bytes, &own)
             .ok()) {
      return Error("internal: cannot serialize the request");
    }
    grpc::GenericStub stub(client.channel());
    grpc::ClientContext ctx;
    client.SetDeadline(ctx);
    ctx.AddMetadata("pitstop-driver", driver_);
    grpc::ByteBuffer response_bytes;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(
        &ctx,
        absl::StrCat("/", method.service()->full_name(), "/", method.name()),
        grpc::StubOptions(), &request_bytes, &response_bytes,
        [&](grpc::Status s) {
          status = std::move(s);
          done.Notify();
        });
    done.WaitForNotification();
    if (!status.ok()) return client.Fail(status);
    std::unique_ptr<pb::Message> response = NewMessage(method.output_type());
    grpc::ProtoBufferReader reader(&response_bytes);
    if (!response->ParseFromZeroCopyStream(&reader)) {
      return Error("the driver's response could not be parsed");
    }
    output.Message(*response);
    return 0;
  }

  std::string driver_;
  std::string operation_;
  std::string resource_;
  std::vector<std::string> props_;
  std::string json_;
  std::string operation_id_;
  std::string caller_;
};

}  // namespace

std::vector<CommandSpec> CallCommands() {
  return {
      {"", "call",
       "invoke a driver operation through pitstopd; prints the response as "
       "JSON",
       TakesOutput::kNo, Make<CallCommand>()},
  };
}

}  // namespace pitstop
