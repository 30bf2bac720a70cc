#include "supervisor/rpc/driver_router.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <sched.h>

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

// Calls requested ahead on each completion queue, so that bursts of new
// calls find one waiting.
constexpr int kRequestsPerQueue = 8;

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

// One routed call, from the moment gRPC hands it over until its status is
// sent. Exactly one operation of a call is in flight at a time (the request
// read, the route wait, the forwarded call, the final write), so the call's
// members are touched by one thread at a time. Deletes itself.
class RoutedCall {
 public:
  RoutedCall(DriverRouter& router, grpc::ServerCompletionQueue* cq)
      : router_(router), cq_(cq), stream_(&server_ctx_) {
    router_.service().RequestCall(&server_ctx_, &stream_, cq_, cq_, this);
  }

  ~RoutedCall() {
    if (counted_) router_.CallEnded();
  }

  // Runs on the completion queue's thread when the operation in flight
  // completes.
  void Proceed(bool ok) {
    switch (state_) {
      case State::kRequested:
        if (!ok) {  // the server is shutting down
          delete this;
          return;
        }
        new RoutedCall(router_, cq_);  // keep accepting
        OnArrived();
        return;
      case State::kReading:
        if (!ok) {
          FinishWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the call carried no request message"));
          return;
        }
        OnRequest();
        return;
      case State::kForwarding:
        OnForwarded();
        return;
      case State::kFinishing:
        delete this;
        return;
    }
  }

 private:
  enum class State { kRequested, kReading, kForwarding, kFinishing };

  void OnArrived() {
    counted_ = router_.CallStarted();
    if (!counted_) {
      FinishWith(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "pitstopd is shutting down; retry against its replacement"));
      return;
    }
    auto it = router_.methods().find(server_ctx_.method());
    if (it == router_.methods().end()) {
      FinishWith(grpc::Status(
          grpc::StatusCode::UNIMPLEMENTED,
          absl::StrCat("unknown method ", server_ctx_.method(),
                       "; pitstopd serves pitstop.driver.v1.StorageService, "
                       "NetworkService and HypervisorService (routed to "
                       "drivers), pitstop.supervisor.v1.AdminService, "
                       "grpc.health.v1.Health and server reflection")));
      return;
    }
    category_ = it->second;
    state_ = State::kReading;
    stream_.Read(&request_, this);
  }

  void OnRequest() {
    auto md = server_ctx_.client_metadata().find(kDriverMetadataKey);
    if (md == server_ctx_.client_metadata().end() || md->second.empty()) {
      FinishWith(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("missing gRPC metadata key '", kDriverMetadataKey,
                       "' naming the driver to call (e.g. flashpool)")));
      return;
    }
    driver_.assign(md->second.data(), md->second.size());
    if (absl::Status s = ReadCallContext(request_, &context_); !s.ok()) {
      FinishWith(ToGrpcStatus(s));
      return;
    }
    const auto deadline = server_ctx_.deadline();
    deadline_ = deadline == std::chrono::system_clock::time_point::max()
                    ? absl::InfiniteFuture()
                    : absl::FromChrono(deadline);
    if (!context_.resource().id().empty()) {
      resource_ = absl::StrCat(context_.resource().type(), "/",
                               context_.resource().id());
    }
    Acquire(0);
  }

  void Acquire(uint64_t avoid_instance) {
    // The answer comes on this thread or on the supervisor's.
    router_.supervisor().AcquireRoute(
        driver_, resource_, deadline_,
        [this](absl::StatusOr<Route> route) { OnRoute(std::move(route)); },
        avoid_instance);
  }

  void OnRoute(absl::StatusOr<Route> route) {
    if (!route.ok()) {
      FinishWith(ToGrpcStatus(route.status()));
      return;
    }
    const DriverManifest& m = route->package->manifest;
    if (m.category != category_) {
      FinishWith(grpc::Status(
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
      FinishWith(grpc::Status(
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
        FinishWith(ToGrpcStatus(ViolationsStatus(driver_, bag.violations)));
        return;
      }
      if (bag.changed) AppendProperties(std::move(bag.properties));
    }
    route_ = *std::move(route);
    client_ = grpc::ClientContext::FromServerContext(server_ctx_);
    // Every forwarded call has a deadline: the caller's, cut to the
    // driver's timeouts.call; the daemon's default when the caller has none.
    const absl::Time cap = absl::Now() + m.timeouts.call;
    if (deadline_ == absl::InfiniteFuture()) {
      client_->set_deadline(absl::ToChronoTime(
          std::min(cap, absl::Now() + router_.default_call_timeout())));
    } else if (deadline_ > cap) {
      client_->set_deadline(absl::ToChronoTime(cap));
    }
    auto& endpoint = static_cast<GrpcDriverEndpoint&>(*route_.endpoint);
    response_.Clear();
    state_ = State::kForwarding;
    forwarded_ = endpoint.generic_stub().PrepareUnaryCall(
        client_.get(), server_ctx_.method(), request_, cq_);
    // A replaced instance that does not drain in time gives its calls up.
    route_.lease->SetCancel([client = client_.get()] { client->TryCancel(); });
    forwarded_->StartCall();
    // Last touch of this call on this thread: the completion may run at once
    // on the queue's thread.
    forwarded_->Finish(&response_, &forward_status_, this);
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

  void OnForwarded() {
    route_.lease->SetCancel(nullptr);
    // The driver is done with the call: its resource is free on that
    // instance from now on, also while the answer is written or the call
    // is sent again elsewhere.
    route_.lease.reset();
    grpc::Status status = std::move(forward_status_);
    forwarded_.reset();
    client_.reset();
    if (status.ok()) {
      state_ = State::kFinishing;
      stream_.WriteAndFinish(response_, grpc::WriteOptions(), status, this);
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
      FinishWith(grpc::Status(
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
    FinishWith(status);
  }

  void FinishWith(grpc::Status status) {
    state_ = State::kFinishing;
    stream_.Finish(status, this);
  }

  // Constant after construction
  DriverRouter& router_;
  grpc::ServerCompletionQueue* const cq_;

  // Touched by one thread at a time (see the class comment).
  grpc::GenericServerContext server_ctx_;
  grpc::GenericServerAsyncReaderWriter stream_;
  State state_ = State::kRequested;
  bool counted_ = false;
  DriverCategory category_ = DriverCategory::kStorage;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::string driver_;
  v1::CallContext context_;
  std::string resource_;  // "type/id"; empty when the call names none
  absl::Time deadline_;
  Route route_;
  std::unique_ptr<grpc::ClientContext> client_;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> forwarded_;
  grpc::Status forward_status_;
  bool validated_ = false;
  int connect_retries_ = 0;
  bool resent_after_loss_ = false;
};

}  // namespace

DriverRouter::DriverRouter(Supervisor& supervisor,
                           absl::Duration default_call_timeout,
                           absl::Duration busy_poll)
    : supervisor_(supervisor),
      default_call_timeout_(default_call_timeout),
      busy_poll_(busy_poll) {
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

DriverRouter::~DriverRouter() { Stop(); }

void DriverRouter::Register(grpc::ServerBuilder& builder, int threads) {
  builder.RegisterAsyncGenericService(&service_);
  for (int i = 0; i < threads; ++i) {
    queues_.push_back(builder.AddCompletionQueue());
  }
}

void DriverRouter::Start() {
  for (auto& queue : queues_) {
    grpc::ServerCompletionQueue* cq = queue.get();
    for (int i = 0; i < kRequestsPerQueue; ++i) new RoutedCall(*this, cq);
    threads_.emplace_back([this, cq] { Serve(cq); });
  }
}

void DriverRouter::Serve(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  // Whether to poll before sleeping: a 1-bit prediction from the last wait.
  bool spin = busy_poll_ > absl::ZeroDuration();
  while (true) {
    if (spin) {
      const absl::Time until = absl::Now() + busy_poll_;
      grpc::CompletionQueue::NextStatus st;
      do {
        st = cq->AsyncNext(&tag, &ok, gpr_inf_past(GPR_CLOCK_MONOTONIC));
        if (st != grpc::CompletionQueue::TIMEOUT) break;
        // Whatever else is runnable on this core (the driver, the caller)
        // goes first.
        sched_yield();
      } while (absl::Now() < until);
      if (st == grpc::CompletionQueue::SHUTDOWN) return;
      if (st == grpc::CompletionQueue::GOT_EVENT) {
        static_cast<RoutedCall*>(tag)->Proceed(ok);
        continue;
      }
    }
    const absl::Time slept = absl::Now();
    if (!cq->Next(&tag, &ok)) return;
    // Poll next time only if that would have caught this event; a thread
    // whose events come further apart sleeps at once and burns nothing.
    spin = busy_poll_ > absl::ZeroDuration() && !spin &&
           absl::Now() - slept <= busy_poll_;
    static_cast<RoutedCall*>(tag)->Proceed(ok);
  }
}

void DriverRouter::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& queue : queues_) queue->Shutdown();
  if (threads_.empty()) {
    // Never started: drain the queues here (gRPC requires it).
    for (auto& queue : queues_) {
      void* tag = nullptr;
      bool ok = false;
      while (queue->Next(&tag, &ok)) {
      }
    }
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
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

bool DriverRouter::CallStarted() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  ++in_flight_;
  return true;
}

void DriverRouter::CallEnded() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

}  // namespace pitstop
