// pitstop: the operator CLI. Talks to pitstopd's AdminService and, for
// `call`, to the routed category services; packs CARs locally.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/code_signing_ca.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/property_args.h"
#include "supervisor/repo/repository_tools.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;
namespace pb = google::protobuf;

constexpr char kDefaultAddress[] = "unix:/run/pitstop/pitstopd.sock";

struct Options {
  std::string address;
  std::string output = "table";
  double timeout_seconds = 60;
};

int Error(absl::string_view message) {
  std::cerr << "pitstop: " << message << "\n";
  return 1;
}

std::string CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : absl::StrCat("CODE_", i);
}

int RpcError(const Options& o, const grpc::Status& status) {
  std::string message =
      absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("failed to connect") != std::string::npos) {
    absl::StrAppend(&message, "\n  is pitstopd running and serving on ",
                    o.address, "? (set --address or PITSTOP_ADDRESS)");
  }
  return Error(message);
}

class Client {
 public:
  explicit Client(const Options& o)
      : options_(o),
        channel_(
            grpc::CreateChannel(o.address, grpc::InsecureChannelCredentials())),
        admin_(sv1::AdminService::NewStub(channel_)) {}

  void Prepare(grpc::ClientContext& ctx) const {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(
                         options_.timeout_seconds * 1000)));
  }

  sv1::AdminService::Stub& admin() { return *admin_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }

 private:
  const Options& options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<sv1::AdminService::Stub> admin_;
};

// A message as indented JSON with proto field names and every field.
void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  pb::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.always_print_primitive_fields = true;
  print.preserve_proto_field_names = true;
  (void)pb::util::MessageToJsonString(message, &json, print);
  std::cout << json;
}

// A message as one line of JSON (a stream of events), flushed.
void PrintJsonLine(const google::protobuf::Message& message) {
  std::string json;
  pb::util::JsonPrintOptions print;
  print.always_print_primitive_fields = true;
  print.preserve_proto_field_names = true;
  (void)pb::util::MessageToJsonString(message, &json, print);
  std::cout << json << std::endl;
}

std::string PidText(const sv1::Driver& d) {
  return d.pid() ? std::to_string(d.pid()) : "-";
}

int Drivers(const Options& o) {
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::ListDriversResponse response;
  grpc::Status s = client.admin().ListDrivers(&ctx, {}, &response);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    pb::Value list;
    for (const auto& d : response.drivers()) {
      *list.mutable_list_value()->add_values() = DriverToJson(d);
    }
    if (response.drivers().empty()) list.mutable_list_value();
    std::cout << JsonText(list);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "CATEGORY", "STATE", "PID", "RESTARTS", "MESSAGE"}};
  for (const auto& d : response.drivers()) {
    rows.push_back({d.name(), d.version(), CategoryLabel(d.category()),
                    StateName(d.state()), PidText(d),
                    std::to_string(d.restarts()), d.message()});
    if (d.instances_size() > 1) {
      // During an upgrade or a graceful restart: each process on its row.
      for (const auto& i : d.instances()) {
        rows.push_back({"  instance", i.version(), "", i.role(),
                        i.pid() ? std::to_string(i.pid()) : "-", "",
                        absl::StrCat(i.calls_in_flight(), " calls in flight")});
      }
    }
  }
  std::cout << FormatTable(rows);
  return 0;
}

// The protections in force for the running instance (docs/sandbox.md).
void PrintSandbox(const sv1::Driver& d) {
  if (d.grants_size() > 0) {
    std::cout << "Granted:      " << absl::StrJoin(d.grants(), ", ") << "\n";
  }
  const sv1::SandboxProtections& s = d.sandbox();
  if (s.mode().empty() || s.mode() == "off") return;
  auto yes = [](bool b) { return b ? "yes" : "NO"; };
  std::cout << "Sandbox:      " << s.mode() << "\n"
            << "  namespaces:   "
            << (s.namespaces().empty() ? "none"
                                       : absl::StrJoin(s.namespaces(), ", "))
            << "\n"
            << "  private root: " << yes(s.private_root()) << "\n"
            << "  uid/gid:      " << s.uid() << "/" << s.gid() << "\n"
            << "  no_new_privs: " << yes(s.no_new_privs()) << "\n"
            << "  capabilities: "
            << (s.capabilities_dropped() ? "none" : "NOT dropped") << "\n"
            << "  seccomp:      " << (s.seccomp() ? "deny-list, kill" : "NO")
            << "\n"
            << "  cgroup:       " << (s.cgroup().empty() ? "none" : s.cgroup());
  if (!s.cgroup().empty()) {
    std::cout << " (memory " << s.memory_limit_bytes() / (1024 * 1024)
              << " MiB, pids " << s.pids_limit() << ")";
  }
  std::cout << "\n"
            << "  rlimits:      " << absl::StrJoin(s.rlimits(), ", ") << "\n"
            << "  network:      " << s.network() << "\n";
  for (const std::string& gap : s.gaps()) {
    std::cout << "  MISSING:      " << gap << "\n";
  }
}

void PrintDriver(const sv1::Driver& d) {
  std::cout << "Name:         " << d.name() << "\n"
            << "Version:      " << d.version() << "\n"
            << "Category:     " << CategoryLabel(d.category()) << "\n"
            << "Vendor:       " << d.vendor() << "\n"
            << "Description:  " << d.description() << "\n"
            << "State:        " << StateName(d.state()) << " since "
            << pb::util::TimeUtil::ToString(d.state_since()) << "\n"
            << "Pid:          " << PidText(d) << "\n"
            << "Restarts:     " << d.restarts() << "\n";
  if (!d.message().empty())
    std::cout << "Message:      " << d.message() << "\n";
  if (!d.last_exit().empty()) {
    std::cout << "Last exit:    " << d.last_exit() << "\n";
  }
  std::cout << "Protocol:     " << absl::StrJoin(d.protocol_versions(), ", ")
            << "\n"
            << "Resources:    " << absl::StrJoin(d.resource_types(), ", ")
            << "\n"
            << "Capabilities: " << absl::StrJoin(d.capabilities(), ", ") << "\n"
            << "Installed in: " << d.install_dir() << "\n"
            << "Signed by:    "
            << (d.signer().empty() ? "(unsigned)" : d.signer()) << "\n";
  if (!d.socket_path().empty()) {
    std::cout << "Socket:       " << d.socket_path() << "\n";
  }
  std::cout << "Installed:    " << absl::StrJoin(d.installed_versions(), ", ")
            << "\n";
  if (!d.previous_version().empty()) {
    std::cout << "Previous:     " << d.previous_version()
              << " (`pitstop rollback " << d.name() << "` returns to it)\n";
  }
  if (!d.upgrade().empty()) {
    std::cout << "Upgrade:      " << d.upgrade() << "\n";
  }
  for (const auto& i : d.instances()) {
    std::cout << "Instance:     " << i.version() << " " << i.role() << ", pid "
              << (i.pid() ? std::to_string(i.pid()) : "-") << ", "
              << i.calls_in_flight() << " calls in flight\n";
  }
  PrintSandbox(d);
  std::cout << "Properties:\n";
  std::vector<std::vector<std::string>> rows = {
      {"  KEY", "TYPE", "REQUIRED", "DEFAULT", "RULES", "LABEL"}};
  for (const auto& p : d.properties()) {
    std::vector<std::string> rules;
    if (p.max_length() > 0)
      rules.push_back(absl::StrCat("<= ", p.max_length(), " chars"));
    if (!p.minimum().empty()) rules.push_back(">= " + p.minimum());
    if (!p.maximum().empty()) rules.push_back("<= " + p.maximum());
    if (p.allowed_values_size() > 0) {
      std::vector<std::string> allowed;
      for (const auto& a : p.allowed_values())
        allowed.push_back(PropertyValueText(a));
      rules.push_back("one of " + absl::StrJoin(allowed, "|"));
    }
    std::string type = sv1::PropertyType_Name(p.type()).substr(14);
    std::string def =
        p.has_default_value() ? PropertyValueText(p.default_value()) : "";
    rows.push_back(
        {"  " + p.key(),
         absl::AsciiStrToLower(type) + (p.secret() ? " (secret)" : ""),
         p.required() ? "yes" : "no", def,
         rules.empty() ? "-" : absl::StrJoin(rules, ", "), p.label()});
  }
  std::cout << FormatTable(rows);
}

int Describe(const Options& o, const std::string& name,
             const std::string& locale) {
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::GetDriverRequest request;
  request.set_name(name);
  request.set_locale(locale);
  sv1::Driver d;
  grpc::Status s = client.admin().GetDriver(&ctx, request, &d);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    std::cout << JsonText(DriverToJson(d));
  } else {
    PrintDriver(d);
  }
  return 0;
}

int Validate(const Options& o, const std::string& name,
             const std::vector<std::string>& props) {
  sv1::ValidatePropertiesRequest request;
  request.set_name(name);
  if (auto s = ParseProperties(props, request.mutable_properties()); !s.ok()) {
    return Error(s.message());
  }
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::ValidatePropertiesResponse response;
  grpc::Status s = client.admin().ValidateProperties(&ctx, request, &response);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    PrintJson(response);
  } else if (response.valid()) {
    std::cout << "valid; driver " << name << " would receive:\n";
    std::vector<std::vector<std::string>> rows = {{"  KEY", "VALUE"}};
    std::map<std::string, std::string> sorted;
    for (const auto& [key, value] : response.properties()) {
      sorted[key] = PropertyValueText(value);
    }
    for (const auto& [key, value] : sorted) rows.push_back({"  " + key, value});
    std::cout << FormatTable(rows);
  }
  if (!response.valid()) {
    if (o.output != "json") {
      for (const auto& v : response.violations()) {
        std::cerr << "pitstop: " << v.message() << "\n";
      }
    }
    return Error(absl::StrCat("the property bag is not valid for ", name, " (",
                              response.violations_size(), " problem",
                              response.violations_size() == 1 ? "" : "s", ")"));
  }
  return 0;
}

int Order(const Options& o) {
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::GetStartOrderResponse response;
  grpc::Status s = client.admin().GetStartOrder(&ctx, {}, &response);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    pb::Value list;
    list.mutable_list_value();
    for (const auto& e : response.drivers()) {
      pb::Value v;
      auto& f = *v.mutable_struct_value()->mutable_fields();
      f["name"].set_string_value(e.name());
      f["category"].set_string_value(CategoryLabel(e.category()));
      f["level"].set_number_value(e.level());
      auto* reqs = f["requires"].mutable_list_value();
      for (const auto& r : e.requires())
        reqs->add_values()->set_string_value(r);
      f["startable"].set_bool_value(e.startable());
      f["reason"].set_string_value(e.reason());
      *list.mutable_list_value()->add_values() = v;
    }
    std::cout << JsonText(list);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"#", "NAME", "CATEGORY", "REQUIRES", "WHY"}};
  int n = 0;
  for (const auto& e : response.drivers()) {
    rows.push_back(
        {e.startable() ? std::to_string(++n) : "-", e.name(),
         CategoryLabel(e.category()),
         e.requires().empty() ? "-" : absl::StrJoin(e.requires(), ","),
         e.reason()});
  }
  std::cout << FormatTable(rows)
            << "Drivers stop in exactly the reverse order.\n";
  return 0;
}

int Events(const Options& o, bool follow, const std::string& driver) {
  Client client(o);
  grpc::ClientContext ctx;
  if (!follow) client.Prepare(ctx);
  sv1::WatchEventsRequest request;
  request.set_follow(follow);
  request.set_driver(driver);
  auto reader = client.admin().WatchEvents(&ctx, request);
  sv1::Event e;
  while (reader->Read(&e)) {
    if (o.output == "json") {
      PrintJsonLine(e);
      continue;
    }
    std::string what =
        e.kind() == "state"
            ? absl::StrCat(StateName(e.from()), " -> ", StateName(e.to()))
            : e.kind();
    std::cout << pb::util::TimeUtil::ToString(e.time()) << "  " << e.driver()
              << "  " << what;
    if (e.pid()) std::cout << "  pid " << e.pid();
    if (!e.reason().empty()) std::cout << "  " << e.reason();
    std::cout << std::endl;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
    return RpcError(o, s);
  }
  return 0;
}

int Act(const Options& o, const std::string& verb, const std::string& name,
        bool force) {
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::Driver d;
  grpc::Status s;
  if (verb == "start") {
    sv1::StartDriverRequest r;
    r.set_name(name);
    s = client.admin().StartDriver(&ctx, r, &d);
  } else if (verb == "stop") {
    sv1::StopDriverRequest r;
    r.set_name(name);
    s = client.admin().StopDriver(&ctx, r, &d);
  } else if (verb == "reset") {
    sv1::ResetDriverRequest r;
    r.set_name(name);
    s = client.admin().ResetDriver(&ctx, r, &d);
  } else {
    sv1::RestartDriverRequest r;
    r.set_name(name);
    r.set_force(force);
    s = client.admin().RestartDriver(&ctx, r, &d);
  }
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    std::cout << JsonText(DriverToJson(d));
  } else {
    std::cout << d.name() << ": " << StateName(d.state());
    if (d.pid()) std::cout << " (pid " << d.pid() << ")";
    if (!d.message().empty()) std::cout << ": " << d.message();
    std::cout << "\n";
  }
  const bool wanted = verb == "stop" ? d.state() == sv1::DRIVER_STATE_STOPPED
                                     : d.state() == sv1::DRIVER_STATE_READY;
  if (!wanted) {
    return Error(absl::StrCat(name, " did not reach ",
                              verb == "stop" ? "STOPPED" : "READY",
                              "; see `pitstop describe ", name, "`"));
  }
  return 0;
}

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

struct CallArgs {
  std::string driver;
  std::string operation;
  std::string resource;
  std::vector<std::string> props;
  std::string json;
  std::string operation_id;
  std::string caller;
};

int Call(const Options& o, const CallArgs& a) {
  // Link the category services' descriptors into the generated pool.
  (void)dv1::CreateVolumeRequest::descriptor();
  (void)dv1::ImplementNetworkRequest::descriptor();
  (void)dv1::StartVmRequest::descriptor();

  Client client(o);
  sv1::Driver driver;
  {
    grpc::ClientContext ctx;
    client.Prepare(ctx);
    sv1::GetDriverRequest request;
    request.set_name(a.driver);
    grpc::Status s = client.admin().GetDriver(&ctx, request, &driver);
    if (!s.ok()) return RpcError(o, s);
  }
  const pb::ServiceDescriptor* service =
      pb::DescriptorPool::generated_pool()->FindServiceByName(
          ServiceName(driver.category()));
  const pb::MethodDescriptor* method =
      service ? service->FindMethodByName(a.operation) : nullptr;
  if (method == nullptr) {
    std::vector<std::string> names;
    for (int i = 0; service && i < service->method_count(); ++i) {
      names.push_back(service->method(i)->name());
    }
    return Error(absl::StrCat(
        "driver ", a.driver, " is a ", CategoryLabel(driver.category()),
        " driver with no operation '", a.operation,
        "'; its operations: ", absl::StrJoin(names, ", ")));
  }
  std::unique_ptr<pb::Message> request(pb::MessageFactory::generated_factory()
                                           ->GetPrototype(method->input_type())
                                           ->New());
  if (!a.json.empty()) {
    auto s = pb::util::JsonStringToMessage(a.json, request.get());
    if (!s.ok()) {
      return Error(absl::StrCat("--json for ", method->input_type()->name(),
                                ": ", s.message().as_string()));
    }
  }
  auto* context =
      dynamic_cast<dv1::CallContext*>(request->GetReflection()->MutableMessage(
          request.get(), method->input_type()->FindFieldByNumber(1)));
  if (context == nullptr) {
    return Error("internal: field 1 of the request is not a CallContext");
  }
  if (!a.resource.empty()) {
    if (auto s = ParseResource(a.resource, context->mutable_resource());
        !s.ok()) {
      return Error(s.message());
    }
  }
  if (auto s = ParseProperties(a.props, context->mutable_properties());
      !s.ok()) {
    return Error(s.message());
  }
  if (!a.operation_id.empty()) {
    context->set_operation_id(a.operation_id);
  } else if (context->operation_id().empty()) {
    std::random_device rd;
    context->set_operation_id(absl::StrCat(
        "cli-", absl::ToUnixMillis(absl::Now()), "-", rd() % 100000));
  }
  if (!a.caller.empty()) {
    context->set_caller(a.caller);
  } else if (context->caller().empty()) {
    const passwd* user = ::getpwuid(::getuid());
    context->set_caller(
        absl::StrCat("pitstop-cli:", user ? user->pw_name : "unknown"));
  }

  grpc::ByteBuffer request_bytes;
  bool own = false;
  if (!grpc::SerializationTraits<pb::Message>::Serialize(*request,
                                                         &request_bytes, &own)
           .ok()) {
    return Error("internal: cannot serialize the request");
  }
  grpc::GenericStub stub(client.channel());
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  ctx.AddMetadata("pitstop-driver", a.driver);
  grpc::ByteBuffer response_bytes;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx,
                 absl::StrCat("/", service->full_name(), "/", method->name()),
                 grpc::StubOptions(), &request_bytes, &response_bytes,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return RpcError(o, status);
  std::unique_ptr<pb::Message> response(
      pb::MessageFactory::generated_factory()
          ->GetPrototype(method->output_type())
          ->New());
  grpc::ProtoBufferReader reader(&response_bytes);
  if (!response->ParseFromZeroCopyStream(&reader)) {
    return Error("the driver's response could not be parsed");
  }
  PrintJson(*response);
  return 0;
}

int Sign(const std::string& car, const std::string& key,
         const std::string& cert, const std::string& chain, std::string out) {
  if (out.empty()) out = car;
  absl::Status s = SignCar(car, out, key, cert, chain);
  if (!s.ok()) return Error(s.message());
  std::cout << "signed " << out << "\n";
  return 0;
}

int Verify(const std::string& car, const std::string& trust) {
  auto signer = VerifyCar(car, trust);
  if (!signer.ok()) return Error(signer.status().message());
  // A good signature over a driver that cannot install is no use either.
  auto yaml = ReadCarEntry(car, "META-INF/driver.yaml");
  if (!yaml.ok()) return Error(yaml.status().message());
  auto manifest =
      ParseDriverManifest(*yaml, absl::StrCat(car, "!META-INF/driver.yaml"));
  if (!manifest.ok()) return Error(manifest.status().message());
  if (auto exe = ReadCarEntry(car, manifest->entrypoint, 1ull << 40);
      !exe.ok()) {
    return Error(absl::StrCat(car, ": the entrypoint ", manifest->entrypoint,
                              " is not in the CAR"));
  }
  std::cout << car << ": verified\n"
            << "  signer:      " << signer->subject << "\n"
            << "  issuer:      " << signer->issuer << "\n"
            << "  valid until: "
            << absl::FormatTime("%Y-%m-%d", signer->not_after,
                                absl::UTCTimeZone())
            << "\n"
            << "  certificate: sha256 " << signer->certificate_sha256 << "\n";
  return 0;
}

int Inspect(const Options& o, const std::string& car,
            const std::string& trust) {
  auto files = ReadCarFiles(car);
  if (!files.ok()) return Error(files.status().message());
  std::string yaml;
  for (const CarFile& f : *files) {
    if (f.name == "META-INF/driver.yaml") yaml = f.content;
  }
  auto manifest =
      ParseDriverManifest(yaml, absl::StrCat(car, "!META-INF/driver.yaml"));
  absl::StatusOr<CarSigner> signer =
      trust.empty()
          ? absl::FailedPreconditionError("no --trust directory given")
          : VerifyCar(car, trust);
  if (o.output == "json") {
    pb::Value v;
    auto& f = *v.mutable_struct_value()->mutable_fields();
    f["car"].set_string_value(car);
    if (manifest.ok()) {
      f["name"].set_string_value(manifest->name);
      f["version"].set_string_value(manifest->version.ToString());
      f["category"].set_string_value(
          std::string(CategoryName(manifest->category)));
      f["entrypoint"].set_string_value(manifest->entrypoint);
    } else {
      f["driver_yaml_error"].set_string_value(
          std::string(manifest.status().message()));
    }
    auto* list = f["files"].mutable_list_value();
    for (const CarFile& file : *files) {
      pb::Value e;
      auto& ef = *e.mutable_struct_value()->mutable_fields();
      ef["name"].set_string_value(file.name);
      ef["bytes"].set_number_value(static_cast<double>(file.content.size()));
      *list->add_values() = e;
    }
    f["signature"].set_string_value(
        signer.ok() ? "verified" : std::string(signer.status().message()));
    if (signer.ok()) f["signer"].set_string_value(signer->subject);
    std::cout << JsonText(v);
    return signer.ok() || trust.empty() ? 0 : 1;
  }
  std::cout << car << "\n";
  if (manifest.ok()) {
    std::cout << "  driver:     " << manifest->name << " "
              << manifest->version.ToString() << " ("
              << CategoryName(manifest->category) << ")\n"
              << "  entrypoint: " << manifest->entrypoint << "\n"
              << "  properties: " << manifest->properties.size() << "\n";
  } else {
    std::cout << "  driver.yaml: INVALID: " << manifest.status().message()
              << "\n";
  }
  std::cout << "  files:\n";
  std::vector<std::vector<std::string>> rows;
  for (const CarFile& file : *files) {
    rows.push_back(
        {"    " + file.name, absl::StrCat(file.content.size(), " bytes")});
  }
  std::cout << FormatTable(rows);
  if (signer.ok()) {
    std::cout << "  signature:  verified, signed by " << signer->subject
              << "\n";
  } else {
    std::cout << "  signature:  " << signer.status().message() << "\n";
  }
  return manifest.ok() && (signer.ok() || trust.empty()) ? 0 : 1;
}

// `pitstop install NAME[@VERSION]`: from the daemon's repositories.
int InstallFromRepository(const Options& o, const std::string& spec,
                          bool no_start,
                          const std::vector<std::string>& grants) {
  sv1::InstallFromRepositoryRequest request;
  const size_t at = spec.find('@');
  request.set_name(spec.substr(0, at));
  if (at != std::string::npos) request.set_version(spec.substr(at + 1));
  request.set_start(!no_start);
  for (const std::string& g : grants) request.add_grants(g);
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::Driver d;
  grpc::Status s = client.admin().InstallFromRepository(&ctx, request, &d);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    std::cout << JsonText(DriverToJson(d));
  } else if (d.installed_versions_size() > 1) {
    // A new version of an installed driver goes beside the active one.
    std::cout << "installed " << d.name() << " from a repository beside the "
              << "active " << d.version()
              << " (installed: " << absl::StrJoin(d.installed_versions(), ", ")
              << "); switch with `pitstop upgrade " << d.name()
              << " --to VERSION`\n";
  } else {
    std::cout << "installed " << d.name() << " " << d.version()
              << " from a repository ("
              << (d.signer().empty() ? "unsigned" : "signed by " + d.signer())
              << "): " << StateName(d.state()) << "\n";
  }
  return 0;
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

int Install(const Options& o, const std::string& car, bool no_start,
            const std::vector<std::string>& grants) {
  std::error_code ec;
  if (!std::filesystem::exists(car, ec) && car.find('/') == std::string::npos &&
      (car.size() < 4 || car.substr(car.size() - 4) != ".car")) {
    return InstallFromRepository(o, car, no_start, grants);
  }
  auto bytes = ReadFileBytes(car);
  if (!bytes.ok()) return Error(bytes.status().message());
  // The version it holds, to tell an install beside the active version.
  std::string version;
  if (auto yaml = ReadCarEntry(car, "META-INF/driver.yaml"); yaml.ok()) {
    if (auto m = ParseDriverManifest(*yaml, car); m.ok()) {
      version = m->version.ToString();
    }
  }
  sv1::InstallDriverRequest request;
  request.set_car(*std::move(bytes));
  request.set_start(!no_start);
  for (const std::string& g : grants) request.add_grants(g);
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::Driver d;
  grpc::Status s = client.admin().InstallDriver(&ctx, request, &d);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    std::cout << JsonText(DriverToJson(d));
  } else {
    if (!version.empty() && version != d.version()) {
      std::cout << "installed " << d.name() << " " << version
                << " beside the active " << d.version()
                << "; switch to it with `pitstop upgrade " << d.name()
                << " --to " << version << "`\n";
    } else {
      std::cout << "installed " << d.name() << " " << d.version() << " ("
                << (d.signer().empty() ? "unsigned" : "signed by " + d.signer())
                << "): " << StateName(d.state()) << "\n";
    }
  }
  return 0;
}

struct UpgradeArgs {
  std::string name;
  std::string to;
  std::string car;
  std::string drain_timeout;
  std::string probation;
  bool no_wait = false;
};

absl::Status ParseMillis(const std::string& text, const char* flag,
                         uint32_t* out) {
  if (text.empty()) return absl::OkStatus();
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": '", text, "' is not a duration; write e.g. 30s, 500ms or 2m"));
  }
  *out = static_cast<uint32_t>(absl::ToInt64Milliseconds(d));
  return absl::OkStatus();
}

// Prints the driver's upgrade events from `since` on until the upgrade has
// ended: 0 once committed and the old version stopped, 1 when rolled back
// (or 0 then, when a rollback was asked for).
int FollowUpgrade(const Options& o, Client& client, const std::string& name,
                  uint64_t since, bool rollback_wanted) {
  grpc::ClientContext ctx;
  sv1::WatchEventsRequest request;
  request.set_follow(true);
  request.set_driver(name);
  request.set_since_sequence(since);
  auto reader = client.admin().WatchEvents(&ctx, request);
  sv1::Event e;
  bool committed = false;
  int rc = 1;
  while (reader->Read(&e)) {
    if (e.kind() == "state" || e.kind() == "process") continue;
    if (o.output == "json") {
      PrintJsonLine(e);
    } else {
      std::cout << pb::util::TimeUtil::ToString(e.time()) << "  " << e.kind();
      if (e.pid()) std::cout << "  pid " << e.pid();
      std::cout << "  " << e.reason() << std::endl;
    }
    if (e.kind() == "upgrade-rolled-back") {
      rc = rollback_wanted ? 0 : 1;
      ctx.TryCancel();
      break;
    }
    if (e.kind() == "upgrade-committed") committed = true;
    bool done = e.kind() == "upgrade-old-stopped" && committed;
    if (committed && !done) {
      // Done at once when only one process is left.
      grpc::ClientContext get_ctx;
      client.Prepare(get_ctx);
      sv1::GetDriverRequest get;
      get.set_name(name);
      sv1::Driver d;
      done = client.admin().GetDriver(&get_ctx, get, &d).ok() &&
             d.instances_size() <= 1;
    }
    if (done) {
      rc = 0;
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
    return RpcError(o, s);
  }
  if (rc != 0 && !rollback_wanted) {
    return Error(absl::StrCat("the upgrade of ", name, " was rolled back"));
  }
  return rc;
}

int Upgrade(const Options& o, const UpgradeArgs& a, bool rollback) {
  uint32_t drain_ms = 0, probation_ms = 0;
  if (auto s = ParseMillis(a.drain_timeout, "--drain-timeout", &drain_ms);
      !s.ok()) {
    return Error(s.message());
  }
  if (auto s = ParseMillis(a.probation, "--probation", &probation_ms);
      !s.ok()) {
    return Error(s.message());
  }
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::UpgradeDriverResponse response;
  grpc::Status s;
  if (rollback) {
    sv1::RollbackDriverRequest request;
    request.set_name(a.name);
    request.set_drain_timeout_ms(drain_ms);
    request.set_probation_ms(probation_ms);
    s = client.admin().RollbackDriver(&ctx, request, &response);
  } else {
    sv1::UpgradeDriverRequest request;
    request.set_name(a.name);
    request.set_version(a.to);
    if (!a.car.empty()) {
      auto bytes = ReadFileBytes(a.car);
      if (!bytes.ok()) return Error(bytes.status().message());
      request.set_car(*std::move(bytes));
    }
    request.set_drain_timeout_ms(drain_ms);
    request.set_probation_ms(probation_ms);
    s = client.admin().UpgradeDriver(&ctx, request, &response);
  }
  if (!s.ok()) return RpcError(o, s);
  if (o.output != "json") {
    std::cout << (rollback ? "rolling back " : "upgrading ") << a.name << " "
              << response.from_version() << " -> " << response.to_version()
              << "\n";
  }
  if (a.no_wait) return 0;
  return FollowUpgrade(o, client, a.name, response.started_sequence() - 1,
                       rollback);
}

int Remove(const Options& o, const std::string& name,
           const std::string& version) {
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::RemoveDriverRequest request;
  request.set_name(name);
  request.set_version(version);
  sv1::RemoveDriverResponse response;
  grpc::Status s = client.admin().RemoveDriver(&ctx, request, &response);
  if (!s.ok()) return RpcError(o, s);
  std::cout << "removed " << response.name() << " "
            << absl::StrJoin(response.versions(), ", ") << "\n";
  return 0;
}

int Packages(const Options& o) {
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::ListDriversResponse list;
  grpc::Status s = client.admin().ListDrivers(&ctx, {}, &list);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    pb::Value v;
    v.mutable_list_value();
    for (const auto& d : list.drivers()) {
      pb::Value e;
      auto& f = *e.mutable_struct_value()->mutable_fields();
      f["name"].set_string_value(d.name());
      f["version"].set_string_value(d.version());
      f["signer"].set_string_value(d.signer());
      f["entrypoint_sha256"].set_string_value(d.entrypoint_sha256());
      f["car"].set_string_value(d.car_path());
      *v.mutable_list_value()->add_values() = e;
    }
    std::cout << JsonText(v);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "SIGNER", "ENTRYPOINT SHA-256", "CAR"}};
  for (const auto& d : list.drivers()) {
    rows.push_back({d.name(), d.version(),
                    d.signer().empty() ? "(unsigned)" : d.signer(),
                    d.entrypoint_sha256().substr(0, 16) + "...", d.car_path()});
  }
  std::cout << FormatTable(rows);
  return 0;
}

int Pack(const std::string& dir, const std::string& out) {
  absl::Status s = PackCar(dir, out);
  if (!s.ok()) return Error(s.message());
  std::cout << "packed " << out << "\n";
  return 0;
}

std::string TimeText(const pb::Timestamp& t) {
  return t.seconds() == 0 ? "-" : pb::util::TimeUtil::ToString(t);
}

int RepoBuild(const std::string& dir, const BuildOptions& options,
              const std::string& expires) {
  BuildOptions o = options;
  auto validity = ParseValidity(expires);
  if (!validity.ok()) return Error(validity.status().message());
  o.valid_for = *validity;
  auto index = BuildRepository(dir, o, absl::Now());
  if (!index.ok()) return Error(index.status().message());
  std::cout << "wrote " << dir << "/" << kIndexFile << " (version "
            << index->version << ", " << index->entries.size()
            << " CARs, expires "
            << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", index->expires,
                                absl::UTCTimeZone())
            << ") and " << kIndexSignatureFile << "\n";
  for (const IndexEntry& e : index->entries) {
    std::cout << "  " << e.name << " " << e.version.ToString() << "  " << e.path
              << "  " << (e.signer.empty() ? "(unsigned)" : e.signer) << "\n";
  }
  return 0;
}

FetchOptions CliFetchOptions(const std::string& trust) {
  FetchOptions f;
  f.trust_dir = trust;
  return f;
}

int RepoVerify(const std::string& url, const std::string& trust,
               bool index_only) {
  std::string t =
      (std::filesystem::temp_directory_path() / "pitstop-repo-verify-XXXXXX")
          .string();
  if (::mkdtemp(t.data()) == nullptr) return Error("cannot create a temp dir");
  auto report = VerifyRepository(url, CliFetchOptions(trust), absl::Now(),
                                 !index_only, t);
  std::error_code ec;
  std::filesystem::remove_all(t, ec);
  if (!report.ok()) return Error(report.status().message());
  const RepositoryIndex& index = report->index.index;
  std::cout << url << ": index version " << index.version << ", signed by "
            << report->index.signer.subject << ", expires "
            << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", index.expires,
                                absl::UTCTimeZone())
            << "\n";
  if (index_only) {
    std::cout << index.entries.size() << " CARs listed (not downloaded)\n";
  } else {
    std::cout << report->cars_checked
              << " CARs verified (length, SHA-256, signature)\n";
  }
  return 0;
}

int RepoMirror(const std::string& url, const std::string& dir,
               const std::string& trust) {
  auto report = MirrorRepository(
      url, dir, CliFetchOptions(trust), absl::Now(),
      [](const std::string& line) { std::cout << "  " << line << std::endl; });
  if (!report.ok()) return Error(report.status().message());
  std::cout << "mirrored index version " << report->index_version << " into "
            << dir << ": " << report->fetched << " CARs fetched, "
            << report->kept << " already present\n";
  return 0;
}

int RepoAdd(const Options& o, const std::string& name, const std::string& url) {
  sv1::AddRepositoryRequest request;
  request.set_name(name);
  std::string u = url;
  if (u.find("://") == std::string::npos) {
    u = std::filesystem::absolute(u).lexically_normal().string();
  }
  request.set_url(u);
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::Repository r;
  grpc::Status s = client.admin().AddRepository(&ctx, request, &r);
  if (!s.ok()) return RpcError(o, s);
  std::cout << "added repository " << r.name() << " (" << r.url()
            << "): index version " << r.index_version() << ", " << r.cars_size()
            << " CARs\n";
  return 0;
}

int RepoRemove(const Options& o, const std::string& name) {
  sv1::RemoveRepositoryRequest request;
  request.set_name(name);
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::RemoveRepositoryResponse response;
  grpc::Status s = client.admin().RemoveRepository(&ctx, request, &response);
  if (!s.ok()) return RpcError(o, s);
  std::cout << "removed repository " << name << "\n";
  return 0;
}

int RepoList(const Options& o, bool refresh, bool show_cars) {
  sv1::ListRepositoriesRequest request;
  request.set_refresh(refresh);
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::ListRepositoriesResponse response;
  grpc::Status s = client.admin().ListRepositories(&ctx, request, &response);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    PrintJson(response);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "URL", "SOURCE", "INDEX", "EXPIRES", "CARS", "ERROR"}};
  for (const auto& r : response.repositories()) {
    rows.push_back({r.name(), r.url(), r.source(),
                    r.index_version() ? std::to_string(r.index_version()) : "-",
                    TimeText(r.index_expires()), std::to_string(r.cars_size()),
                    r.error().empty() ? "-" : r.error()});
  }
  std::cout << FormatTable(rows);
  if (show_cars) {
    std::vector<std::vector<std::string>> cars = {
        {"REPOSITORY", "NAME", "VERSION", "CATEGORY", "BYTES", "SIGNER"}};
    for (const auto& r : response.repositories()) {
      for (const auto& c : r.cars()) {
        cars.push_back({r.name(), c.name(), c.version(),
                        CategoryLabel(c.category()), std::to_string(c.length()),
                        c.signer().empty() ? "(unsigned)" : c.signer()});
      }
    }
    std::cout << "\n" << FormatTable(cars);
  }
  return 0;
}

int Updates(const Options& o, bool no_refresh) {
  sv1::ListUpdatesRequest request;
  request.set_refresh(!no_refresh);
  Client client(o);
  grpc::ClientContext ctx;
  client.Prepare(ctx);
  sv1::ListUpdatesResponse response;
  grpc::Status s = client.admin().ListUpdates(&ctx, request, &response);
  if (!s.ok()) return RpcError(o, s);
  if (o.output == "json") {
    PrintJson(response);
  } else if (response.updates().empty()) {
    std::cout << "every installed driver is up to date\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "INSTALLED", "AVAILABLE", "REPOSITORY"}};
    for (const auto& u : response.updates()) {
      rows.push_back({u.name(), u.installed_version(), u.available_version(),
                      u.repository()});
    }
    std::cout << FormatTable(rows);
  }
  for (const std::string& e : response.errors()) {
    std::cerr << "pitstop: warning: repository " << e << "\n";
  }
  return 0;
}

// `pitstop repo ...` and `pitstop updates`. CLI11 binds options to
// variables that must live until parsing ends: function statics here.
void AddRepoCommands(CLI::App& app, Options& o, int& rc,
                     const std::function<void(CLI::App*)>& add_output) {
  CLI::App* repo = app.add_subcommand(
      "repo", "driver repositories: build, verify, mirror; the daemon's list");
  repo->require_subcommand(1);

  static BuildOptions build_options;
  static std::string build_dir, build_expires = "30d";
  CLI::App* build = repo->add_subcommand(
      "build", "write or update the signed index of the CARs in DIR");
  build->add_option("DIR", build_dir, "the repository's directory")->required();
  build
      ->add_option("--key", build_options.key_path,
                   "PEM private key of the repository signing certificate")
      ->required();
  build
      ->add_option("--cert", build_options.cert_path,
                   "PEM certificate issued under the project's root")
      ->required();
  build->add_option("--chain", build_options.chain_path,
                    "PEM intermediate certificates");
  build->add_option("--expires", build_expires,
                    "how long the index is valid, e.g. 30d, 12h (default 30d)");
  build->add_option("--version", build_options.version,
                    "the index version (default: one more than the current)");
  build->callback(
      [&] { rc = RepoBuild(build_dir, build_options, build_expires); });

  static std::string verify_url, verify_trust = "/etc/pitstop/trust";
  static bool verify_index_only = false;
  CLI::App* verify = repo->add_subcommand(
      "verify", "check a repository as a daemon would: index and every CAR");
  verify
      ->add_option("URL", verify_url,
                   "file://, http://, https:// URL or a directory")
      ->required();
  verify->add_option("--trust", verify_trust,
                     "directory of trusted root certificates (*.pem, *.crt)");
  verify->add_flag("--index-only", verify_index_only,
                   "check only the index, download no CAR");
  verify->callback(
      [&] { rc = RepoVerify(verify_url, verify_trust, verify_index_only); });

  static std::string mirror_url, mirror_dir,
      mirror_trust = "/etc/pitstop/trust";
  CLI::App* mirror = repo->add_subcommand(
      "mirror",
      "copy a repository byte for byte into DIR, verifying; resumable");
  mirror->add_option("URL", mirror_url, "the repository to copy")->required();
  mirror->add_option("DIR", mirror_dir, "the mirror's directory")->required();
  mirror->add_option("--trust", mirror_trust,
                     "directory of trusted root certificates (*.pem, *.crt)");
  mirror->callback(
      [&] { rc = RepoMirror(mirror_url, mirror_dir, mirror_trust); });

  static std::string add_name, add_url;
  CLI::App* add = repo->add_subcommand(
      "add", "add a repository to the running daemon (checked at once)");
  add->add_option("NAME", add_name, "a name for it")->required();
  add->add_option("URL", add_url,
                  "file://, http://, https:// URL or a directory")
      ->required();
  add->callback([&] { rc = RepoAdd(o, add_name, add_url); });

  static std::string remove_name;
  CLI::App* remove =
      repo->add_subcommand("remove", "remove an operator-added repository");
  remove->add_option("NAME", remove_name, "its name")->required();
  remove->callback([&] { rc = RepoRemove(o, remove_name); });

  static bool list_refresh = false, list_cars = false;
  CLI::App* list = repo->add_subcommand(
      "list", "the daemon's repositories: index version, expiry, errors");
  list->add_flag("--refresh", list_refresh, "download every index first");
  list->add_flag("--cars", list_cars, "also list every CAR offered");
  add_output(list);
  list->callback([&] { rc = RepoList(o, list_refresh, list_cars); });

  static bool updates_no_refresh = false;
  CLI::App* updates = app.add_subcommand(
      "updates", "installed drivers with a newer version in a repository");
  updates->add_flag("--no-refresh", updates_no_refresh,
                    "use the indexes as last refreshed by the daemon");
  add_output(updates);
  updates->callback([&] { rc = Updates(o, updates_no_refresh); });
}

int Main(int argc, char** argv) {
  CLI::App app{"pitstop: operate the Pitstop driver supervisor"};
  app.require_subcommand(1);
  Options o;
  const char* env_address = std::getenv("PITSTOP_ADDRESS");
  o.address = env_address ? env_address : kDefaultAddress;
  app.add_option("--address", o.address,
                 "pitstopd's address: unix:/PATH or HOST:PORT "
                 "(default $PITSTOP_ADDRESS or " +
                     std::string(kDefaultAddress) + ")");
  app.add_option("--timeout", o.timeout_seconds,
                 "seconds to wait for an answer")
      ->check(CLI::PositiveNumber);
  const auto add_output = [&](CLI::App* cmd) {
    cmd->add_option("--output,-o", o.output, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
  };

  int rc = 0;
  CLI::App* drivers = app.add_subcommand("drivers", "list the drivers");
  add_output(drivers);
  drivers->callback([&] { rc = Drivers(o); });

  std::string name;
  std::string locale;
  CLI::App* describe = app.add_subcommand("describe", "show one driver");
  describe->add_option("NAME", name, "driver name")->required();
  describe->add_option("--locale", locale,
                       "show labels in this locale, e.g. de or pt_BR");
  add_output(describe);
  describe->callback([&] { rc = Describe(o, name, locale); });

  std::vector<std::string> validate_props;
  CLI::App* validate = app.add_subcommand(
      "validate",
      "check a property bag against a driver's schema without "
      "calling the driver");
  validate->add_option("NAME", name, "driver name")->required();
  validate->add_option("--prop", validate_props,
                       "a property of the bag: KEY=VALUE (repeatable)");
  add_output(validate);
  validate->callback([&] { rc = Validate(o, name, validate_props); });

  bool force_restart = false;
  for (const char* verb : {"start", "stop", "restart", "reset"}) {
    CLI::App* cmd = app.add_subcommand(
        verb, std::string(verb) == "reset"
                  ? "clear a FAILED driver's mark and start it again"
                  : std::string(verb) + " a driver");
    cmd->add_option("NAME", name, "driver name")->required();
    if (std::string(verb) == "restart") {
      cmd->add_flag("--force", force_restart,
                    "stop the process at once instead of starting the new "
                    "one first and draining the old");
    }
    add_output(cmd);
    cmd->callback([&, verb] { rc = Act(o, verb, name, force_restart); });
  }

  std::string install_car;
  bool no_start = false;
  CLI::App* install = app.add_subcommand(
      "install",
      "install a CAR file, or NAME[@VERSION] from the daemon's repositories, "
      "into the running daemon and start it");
  install
      ->add_option("FILE", install_car,
                   "the CAR, or NAME[@VERSION|@RANGE] from a repository")
      ->required();
  install->add_flag("--no-start", no_start, "install without starting it");
  std::vector<std::string> grants;
  install->add_option("--grant", grants,
                      "grant a permission the driver asks for "
                      "(network=outbound)");
  add_output(install);
  install->callback([&] { rc = Install(o, install_car, no_start, grants); });

  std::string remove_version;
  CLI::App* remove = app.add_subcommand(
      "remove",
      "stop a driver and remove its CARs and files, or one inactive version");
  remove->add_option("NAME", name, "driver name")->required();
  remove->add_option("--version", remove_version,
                     "remove only this installed, inactive version");
  remove->callback([&] { rc = Remove(o, name, remove_version); });

  UpgradeArgs upgrade_args;
  auto add_upgrade_options = [&](CLI::App* cmd) {
    cmd->add_option("--drain-timeout", upgrade_args.drain_timeout,
                    "how long the old version may finish its calls after the "
                    "cut-over (default: the driver's timeouts.drain)");
    cmd->add_option("--probation", upgrade_args.probation,
                    "how long the new version must serve without failing "
                    "before the upgrade commits (default 10s)");
    cmd->add_flag("--no-wait", upgrade_args.no_wait,
                  "return once the upgrade has begun");
    add_output(cmd);
  };
  CLI::App* upgrade = app.add_subcommand(
      "upgrade",
      "upgrade a driver in place: the new version starts beside the old one "
      "and takes the work resource by resource; exits non-zero on rollback");
  upgrade->add_option("NAME", upgrade_args.name, "driver name")->required();
  auto* to_opt = upgrade->add_option(
      "--to", upgrade_args.to,
      "the version to upgrade to: installed, or fetched from a "
      "repository");
  auto* car_opt = upgrade->add_option("--car", upgrade_args.car,
                                      "install this CAR, then upgrade to it");
  to_opt->excludes(car_opt);
  add_upgrade_options(upgrade);
  upgrade->callback([&] {
    if (upgrade_args.to.empty() == upgrade_args.car.empty()) {
      rc = Error("give --to VERSION (an installed version) or --car FILE.car");
      return;
    }
    rc = Upgrade(o, upgrade_args, /*rollback=*/false);
  });
  CLI::App* rollback = app.add_subcommand(
      "rollback",
      "abandon the upgrade in progress, or upgrade back to the version "
      "active before the last upgrade");
  rollback->add_option("NAME", upgrade_args.name, "driver name")->required();
  add_upgrade_options(rollback);
  rollback->callback([&] { rc = Upgrade(o, upgrade_args, /*rollback=*/true); });

  CLI::App* packages = app.add_subcommand(
      "packages", "installed drivers: version, signer, digest, CAR");
  add_output(packages);
  packages->callback([&] { rc = Packages(o); });

  CLI::App* order = app.add_subcommand(
      "order", "the computed start order and why (stop is the reverse)");
  add_output(order);
  order->callback([&] { rc = Order(o); });

  bool follow = false;
  std::string events_driver;
  CLI::App* events = app.add_subcommand(
      "events", "recent state transitions and actions; --follow for live ones");
  events->add_flag("--follow,-f", follow, "keep printing new events");
  events->add_option("--driver", events_driver, "only this driver's events");
  add_output(events);
  events->callback([&] { rc = Events(o, follow, events_driver); });

  CallArgs call_args;
  CLI::App* call = app.add_subcommand(
      "call",
      "invoke a driver operation through pitstopd; prints the response "
      "as JSON");
  call->add_option("NAME", call_args.driver, "driver name")->required();
  call->add_option("OPERATION", call_args.operation,
                   "operation, e.g. CreateVolume")
      ->required();
  call->add_option("--resource", call_args.resource,
                   "the resource the call is about: TYPE/ID, e.g. volume/v1");
  call->add_option("--prop", call_args.props,
                   "a property of the bag: KEY=VALUE (repeatable)");
  call->add_option(
      "--json", call_args.json,
      "request fields as JSON, e.g. '{\"size_bytes\": 1073741824}'");
  call->add_option("--operation-id", call_args.operation_id,
                   "idempotency key (default: generated)");
  call->add_option("--caller", call_args.caller, "who is calling, for audit");
  call->callback([&] { rc = Call(o, call_args); });

  CLI::App* car = app.add_subcommand("car", "work with driver archives");
  car->require_subcommand(1);
  std::string pack_dir, pack_out;
  CLI::App* pack =
      car->add_subcommand("pack", "pack a driver directory into a CAR");
  pack->add_option("DIR", pack_dir,
                   "directory with META-INF/driver.yaml and bin/")
      ->required();
  pack->add_option("-o,--output", pack_out, "the CAR file to write")
      ->required();
  pack->callback([&] { rc = Pack(pack_dir, pack_out); });

  std::string sign_car, sign_key, sign_cert, sign_chain, sign_out;
  CLI::App* sign = car->add_subcommand(
      "sign",
      "sign a CAR the way jarsigner does (MANIFEST.MF, .SF, CMS block)");
  sign->add_option("FILE", sign_car, "the CAR")->required();
  sign->add_option("--key", sign_key, "PEM private key (EC or RSA)")
      ->required();
  sign->add_option("--cert", sign_cert, "PEM code-signing certificate")
      ->required();
  sign->add_option("--chain", sign_chain, "PEM intermediate certificates");
  sign->add_option("-o,--output", sign_out, "write here (default: in place)");
  sign->callback(
      [&] { rc = Sign(sign_car, sign_key, sign_cert, sign_chain, sign_out); });

  std::string inspect_car, inspect_trust;
  CLI::App* inspect = car->add_subcommand(
      "inspect", "show a CAR's driver.yaml summary, files and signature");
  inspect->add_option("FILE", inspect_car, "the CAR")->required();
  inspect->add_option("--trust", inspect_trust,
                      "check the signature against these trusted roots");
  add_output(inspect);
  inspect->callback([&] { rc = Inspect(o, inspect_car, inspect_trust); });

  std::string verify_car, verify_trust = "/etc/pitstop/trust";
  CLI::App* verify = car->add_subcommand(
      "verify", "check a CAR's signature against trusted roots");
  verify->add_option("FILE", verify_car, "the CAR")->required();
  verify->add_option("--trust", verify_trust,
                     "directory of trusted root certificates (*.pem, *.crt)");
  verify->callback([&] { rc = Verify(verify_car, verify_trust); });

  CLI::App* ca = app.add_subcommand(
      "ca", "the project's driver-signing certificate authority");
  ca->require_subcommand(1);
  std::string ca_dir, ca_vendor;
  CLI::App* ca_init = ca->add_subcommand("init", "create a root CA in DIR");
  ca_init->add_option("DIR", ca_dir, "directory for root.key and root.pem")
      ->required();
  ca_init->callback([&] {
    absl::Status s = InitCodeSigningCa(ca_dir);
    rc = s.ok() ? 0 : Error(s.message());
    if (s.ok()) std::cout << "created " << ca_dir << "/root.pem\n";
  });
  CLI::App* ca_issue = ca->add_subcommand(
      "issue", "issue a vendor code-signing certificate from the CA in DIR");
  ca_issue->add_option("DIR", ca_dir, "the CA's directory")->required();
  ca_issue->add_option("VENDOR", ca_vendor, "the vendor's name")->required();
  ca_issue->callback([&] {
    absl::Status s = IssueCodeSigningCertificate(ca_dir, ca_vendor);
    rc = s.ok() ? 0 : Error(s.message());
    if (s.ok()) {
      std::cout << "issued " << ca_dir << "/" << ca_vendor << ".pem and .key\n";
    }
  });

  AddRepoCommands(app, o, rc, add_output);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}

}  // namespace
}  // namespace pitstop

int main(int argc, char** argv) { return pitstop::Main(argc, argv); }
