#include "supervisor/rpc/driver_router.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/client_context.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/rpc/call_context_reader.h"
#include "supervisor/rpc/grpc_driver_endpoint.h"
#include "supervisor/rpc/status_conversion.h"
#include "supervisor/schema/property_validator.h"

namespace pitstop {
namespace {

namespace v1 = pitstop::driver::v1;

absl::string_view ServiceOf(DriverCategory category) {
  switch (category) {
    case DriverCategory::kNetwork:
      return "pitstop.driver.v1.NetworkService";
    case DriverCategory::kStorage:
      return "pitstop.driver.v1.StorageService";
    case DriverCategory::kHypervisor:
      return "pitstop.driver.v1.HypervisorService";
  }
  return "";
}

// Answers a call the router cannot take at all.
class RejectReactor final : public grpc::ServerGenericBidiReactor {
 public:
  explicit RejectReactor(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// One routed call. Deletes itself when gRPC is done with it.
class ForwardReactor final : public grpc::ServerGenericBidiReactor {
 public:
  ForwardReactor(DriverRouter& router, grpc::GenericCallbackServerContext* ctx,
                 DriverCategory category)
      : router_(router), ctx_(ctx), category_(category) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the call carried no request message"));
      return;
    }
    auto md = ctx_->client_metadata().find(kDriverMetadataKey);
    if (md == ctx_->client_metadata().end() || md->second.empty()) {
      Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("missing gRPC metadata key '", kDriverMetadataKey,
                       "' naming the driver to call (e.g. flashpool)")));
      return;
    }
    driver_.assign(md->second.data(), md->second.size());
    if (absl::Status s = ReadCallContext(request_, &context_); !s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    const auto deadline = ctx_->deadline();
    deadline_ = deadline == std::chrono::system_clock::time_point::max()
                    ? absl::InfiniteFuture()
                    : absl::FromChrono(deadline);
    Acquire(0);
  }

  void OnDone() override {
    router_.CallEnded();
    delete this;
  }

 private:
  void Acquire(uint64_t avoid_instance) {
    router_.supervisor().AcquireRoute(
        driver_, deadline_,
        [this](absl::StatusOr<Route> route) { OnRoute(std::move(route)); },
        avoid_instance);
  }

  void OnRoute(absl::StatusOr<Route> route) {
    if (!route.ok()) {
      Finish(ToGrpcStatus(route.status()));
      return;
    }
    const DriverManifest& m = route->package->manifest;
    if (m.category != category_) {
      Finish(grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("driver ", driver_, " is a ", CategoryName(m.category),
                       " driver: call ", ServiceOf(m.category), ", not ",
                       ServiceOf(category_))));
      return;
    }
    const std::string& type = context_.resource().type();
    if (!type.empty() && !m.resource_types.empty() &&
        std::find(m.resource_types.begin(), m.resource_types.end(), type) ==
            m.resource_types.end()) {
      Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat(
              "driver ", driver_, " has no resource type '", type,
              "' (it declares: ", absl::StrJoin(m.resource_types, ", "), ")")));
      return;
    }
    if (!validated_) {
      // The bag is checked once, before the first attempt.
      validated_ = true;
      ValidatedBag bag = ValidatePropertyBag(m, context_.properties());
      if (!bag.violations.empty()) {
        Finish(ToGrpcStatus(ViolationsStatus(driver_, bag.violations)));
        return;
      }
      if (bag.changed) AppendProperties(std::move(bag.properties));
    }
    route_ = *std::move(route);
    client_ = grpc::ClientContext::FromCallbackServerContext(*ctx_);
    if (deadline_ == absl::InfiniteFuture()) {
      client_->set_deadline(
          absl::ToChronoTime(absl::Now() + router_.default_call_timeout()));
    }
    auto& endpoint = static_cast<GrpcDriverEndpoint&>(*route_.endpoint);
    response_.Clear();
    endpoint.generic_stub().UnaryCall(
        client_.get(), std::string(ctx_->method()), grpc::StubOptions(),
        &request_, &response_,
        [this](grpc::Status status) { OnForwarded(std::move(status)); });
  }

  // Hands the driver the validated bag without re-encoding the request:
  // a second occurrence of field 1 merges into the first, and a repeated map
  // key replaces the earlier value (the protobuf rule for maps).
  void AppendProperties(PropertyBag properties) {
    v1::CallContext patch;
    *patch.mutable_properties() = std::move(properties);
    const std::string body = patch.SerializeAsString();
    std::string framed;
    framed.push_back('\x0a');  // field 1, length-delimited
    uint32_t n = static_cast<uint32_t>(body.size());
    while (n >= 0x80) {
      framed.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    framed.push_back(static_cast<char>(n));
    framed += body;
    std::vector<grpc::Slice> slices;
    (void)request_.Dump(&slices);
    slices.emplace_back(framed);
    request_ = grpc::ByteBuffer(slices.data(), slices.size());
  }

  void OnForwarded(grpc::Status status) {
    if (status.ok()) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
      return;
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      // The connection was refused: the request never reached a process,
      // so it is safe to send it to the instance that replaces this one.
      if (absl::StrContains(status.error_message(),
                            "failed to connect to all addresses") &&
          ++connect_retries_ <= 2) {
        Acquire(route_.instance_id);
        return;
      }
      // The connection broke during the call: the process died. Drivers
      // must apply an operation id at most once, so a call that carries one
      // is sent once more, to the replacement instance.
      if (!context_.operation_id().empty() && !resent_after_loss_) {
        resent_after_loss_ = true;
        Acquire(route_.instance_id);
        return;
      }
      Finish(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat(
              "driver ", driver_, " (pid ", route_.pid,
              ") became unavailable during the call: ", status.error_message(),
              context_.operation_id().empty()
                  ? "; the call had no operation id, so it was not "
                    "resent: retry it"
                  : "; it was resent once and failed again")));
      return;
    }
    Finish(status);
  }

  // Constant after construction
  DriverRouter& router_;
  grpc::GenericCallbackServerContext* const ctx_;
  const DriverCategory category_;

  // Touched by one callback at a time: gRPC and the supervisor call this
  // reactor in sequence, never concurrently.
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string driver_;
  v1::CallContext context_;
  absl::Time deadline_;
  Route route_;
  std::unique_ptr<grpc::ClientContext> client_;
  bool validated_ = false;
  int connect_retries_ = 0;
  bool resent_after_loss_ = false;
};

}  // namespace

DriverRouter::DriverRouter(Supervisor& supervisor,
                           absl::Duration default_call_timeout)
    : supervisor_(supervisor), default_call_timeout_(default_call_timeout) {
  // Referencing a message of each file also links its descriptors in, which
  // server reflection needs.
  const std::pair<const google::protobuf::FileDescriptor*, DriverCategory>
      files[] = {
          {v1::CreateVolumeRequest::descriptor()->file(),
           DriverCategory::kStorage},
          {v1::ImplementNetworkRequest::descriptor()->file(),
           DriverCategory::kNetwork},
          {v1::StartVmRequest::descriptor()->file(),
           DriverCategory::kHypervisor},
      };
  for (const auto& [file, category] : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods_[absl::StrCat("/", service->full_name(), "/",
                              service->method(m)->name())] = category;
      }
    }
  }
}

void DriverRouter::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
}

bool DriverRouter::AwaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ == 0;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void DriverRouter::CallEnded() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

grpc::ServerGenericBidiReactor* DriverRouter::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      return new RejectReactor(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "pitstopd is shutting down; retry against its replacement"));
    }
  }
  auto it = methods_.find(context->method());
  if (it == methods_.end()) {
    return new RejectReactor(grpc::Status(
        grpc::StatusCode::UNIMPLEMENTED,
        absl::StrCat("unknown method ", context->method(),
                     "; pitstopd serves pitstop.driver.v1.StorageService, "
                     "NetworkService and HypervisorService (routed to "
                     "drivers), pitstop.supervisor.v1.AdminService, "
                     "grpc.health.v1.Health and server reflection")));
  }
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  return new ForwardReactor(*this, context, it->second);
}

}  // namespace pitstop
