#include "supervisor/rpc/audit_interceptor.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <regex>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "supervisor/common/logging.h"
#include "supervisor/rpc/access_policy.h"
#include "supervisor/rpc/peer_identity.h"

namespace pitstop {
namespace {

namespace pb = google::protobuf;
using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kAdminService =
    "/pitstop.supervisor.v1.AdminService/";

// "https://user:secret@host/x" -> "https://host/x".
std::string WithoutUserInfo(const std::string& text) {
  static const std::regex* const kUserInfo =
      new std::regex(R"(([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@)");
  return std::regex_replace(text, *kUserInfo, "$1");
}

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(AuditTrail& trail, std::string action)
      : trail_(trail), action_(std::move(action)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = m->GetRecvInitialMetadata();
      auto it = metadata->find(kPeerMetadataKey);
      if (it != metadata->end()) {
        actor_.assign(it->second.data(), it->second.size());
      }
    }
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE)) {
      // The sync API's request object: a generated message.
      if (void* message = m->GetRecvMessage()) {
        args_ = AuditArguments(*static_cast<pb::Message*>(message));
      }
    }
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(m->GetSendStatus());
    }
    m->Proceed();
  }

 private:
  void Record(const grpc::Status& status) {
    AuditRecord r;
    r.actor = actor_.empty() ? "unknown" : actor_;
    r.action = action_;
    r.args = args_;
    r.code = static_cast<int>(status.error_code());
    r.message = status.error_message();
    AppendAndLog(trail_, std::move(r));
  }

  AuditTrail& trail_;
  const std::string action_;
  std::string actor_;
  std::string args_;
};

}  // namespace

void AppendAndLog(AuditTrail& trail, AuditRecord record) {
  if (record.message.size() > 1024) record.message.resize(1024);
  const std::string action = record.action, actor = record.actor;
  absl::StatusOr<AuditRecord> written = trail.Append(std::move(record));
  if (!written.ok()) {
    LogError("audit",
             absl::StrCat("cannot write the audit record of ", action, ": ",
                          written.status().message()),
             {{"actor", actor}});
    return;
  }
  LogInfo("audit", action,
          {{"seq", std::to_string(written->seq)},
           {"actor", written->actor},
           {"code", std::to_string(written->code)},
           {"args", written->args}});
}

std::string AuditArguments(const pb::Message& request) {
  std::unique_ptr<pb::Message> copy(request.New());
  copy->CopyFrom(request);
  const pb::Reflection* reflection = copy->GetReflection();
  const pb::Descriptor* descriptor = copy->GetDescriptor();
  std::string sizes;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) continue;
    if (field->type() == pb::FieldDescriptor::TYPE_BYTES &&
        reflection->HasField(*copy, field)) {
      absl::StrAppend(&sizes, " ", field->name(), ": ",
                      reflection->GetString(*copy, field).size(), " bytes");
      reflection->ClearField(copy.get(), field);
    } else if (field->type() == pb::FieldDescriptor::TYPE_STRING &&
               reflection->HasField(*copy, field)) {
      reflection->SetString(
          copy.get(), field,
          WithoutUserInfo(reflection->GetString(*copy, field)));
    }
  }
  std::string json;
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!pb::util::MessageToJsonString(*copy, &json, options).ok()) json = "{}";
  return json + sizes;
}

grpc::experimental::Interceptor*
AuditInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const absl::string_view path = info->method();
  if (!Audited(path)) return nullptr;
  absl::string_view action = path;
  absl::ConsumePrefix(&action, kAdminService);
  return new AuditInterceptor(trail_, std::string(action));
}

}  // namespace pitstop
