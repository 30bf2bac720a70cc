#include "pitstop/sdk/driver_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/grpc.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_interceptor.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"

namespace pitstop::sdk {

using ::pitstop::driver::v1::GetInfoRequest;
using ::pitstop::driver::v1::GetInfoResponse;
using ::pitstop::driver::v1::ProbeRequest;
using ::pitstop::driver::v1::ProbeResponse;

class IdentityServiceImpl final
    : public pitstop::driver::v1::IdentityService::Service {
 public:
  explicit IdentityServiceImpl(DriverServer* owner)
      : owner_(owner), info_(ToGetInfoResponse(owner->info_)) {}

  grpc::Status GetInfo(grpc::ServerContext*, const GetInfoRequest*,
                       GetInfoResponse* response) override {
    *response = info_;
    return grpc::Status::OK;
  }

  grpc::Status Probe(grpc::ServerContext*, const ProbeRequest*,
                     ProbeResponse* response) override {
    absl::MutexLock lock(&owner_->mu_);
    response->set_ready(owner_->ready_);
    response->set_message(owner_->ready_message_);
    return grpc::Status::OK;
  }

 private:
  DriverServer* const owner_;
  const GetInfoResponse info_;
};

// Counts the calls the server has accepted and not yet finished, so shutdown
// can end as soon as the last one does.
class InFlightCalls {
 public:
  void Add() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void Done() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  // True if the count reached zero before `deadline`.
  bool AwaitZero(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto zero = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == 0; };
    return mu_.AwaitWithDeadline(absl::Condition(&zero), deadline);
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace {

// gRPC creates one interceptor per call and destroys it when the call ends.
class CountingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CountingInterceptor(std::shared_ptr<InFlightCalls> calls)
      : calls_(std::move(calls)) {
    calls_->Add();
  }
  ~CountingInterceptor() override { calls_->Done(); }
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

 private:
  const std::shared_ptr<InFlightCalls> calls_;
};

class CountingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingInterceptorFactory(std::shared_ptr<InFlightCalls> calls)
      : calls_(std::move(calls)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new CountingInterceptor(calls_);
  }

 private:
  const std::shared_ptr<InFlightCalls> calls_;
};

}  // namespace

DriverServer::DriverServer(DriverInfo info)
    : info_(std::move(info)),
      identity_(std::make_unique<IdentityServiceImpl>(this)),
      in_flight_(std::make_shared<InFlightCalls>()) {}

DriverServer::~DriverServer() { Shutdown(absl::ZeroDuration()); }

void DriverServer::SetReady(bool ready, std::string message) {
  absl::MutexLock lock(&mu_);
  ready_ = ready;
  ready_message_ = std::move(message);
  ApplyHealthLocked();
}

void DriverServer::ApplyHealthLocked() {
  if (server_ == nullptr || shut_down_) return;
  // Only sets a flag inside gRPC and wakes watchers: no I/O under mu_.
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->SetServingStatus(ready_);
  }
}

absl::Status DriverServer::Start(const std::string& socket_path,
                                 const std::vector<grpc::Service*>& services) {
  absl::MutexLock lock(&mu_);
  if (server_ != nullptr || shut_down_) {
    return absl::FailedPreconditionError(
        "DriverServer::Start called twice; create a new DriverServer");
  }
  if (socket_path.empty() ||
      socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "socket path '", socket_path, "' must be 1 to ",
        sizeof(sockaddr_un{}.sun_path) - 1, " bytes long; use a shorter path"));
  }
  struct stat st;
  if (lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("'", socket_path,
                       "' exists and is not a socket; refusing to replace it: "
                       "remove it or choose another socket path"));
    }
    // A socket left behind by a previous instance that did not clean up.
    if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
      return absl::UnavailableError(absl::StrCat("cannot remove stale socket '",
                                                 socket_path,
                                                 "': ", std::strerror(errno)));
    }
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", socket_path),
                           grpc::InsecureServerCredentials());
  builder.RegisterService(identity_.get());
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<CountingInterceptorFactory>(in_flight_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  shutdown_cq_ = builder.AddCompletionQueue(/*is_frequently_polled=*/false);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    DrainShutdownQueueLocked();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on unix:", socket_path,
        " (gRPC's reason is logged above); check that the directory exists "
        "and is writable, and that each service is registered once"));
  }
  // Owner read/write is all the daemon (same user) needs to connect, whatever
  // the umask was.
  if (chmod(socket_path.c_str(), S_IRUSR | S_IWUSR) != 0) {
    const int err = errno;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
    DrainShutdownQueueLocked();
    return absl::UnavailableError(
        absl::StrCat("cannot set permissions on socket '", socket_path,
                     "': ", std::strerror(err)));
  }
  socket_path_ = socket_path;
  ApplyHealthLocked();
  return absl::OkStatus();
}

void DriverServer::Shutdown(absl::Duration grace) {
  grpc::Server* server;
  grpc::ServerCompletionQueue* cq;
  std::string socket_path;
  {
    absl::MutexLock lock(&mu_);
    if (server_ == nullptr || shut_down_) return;
    shut_down_ = true;
    server = server_.get();
    cq = shutdown_cq_.get();
    socket_path = socket_path_;
    if (grpc::HealthCheckServiceInterface* health =
            server->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
  }
  // Outside mu_: in-flight Probe calls need it to finish.
  //
  // grpc::Server::Shutdown(deadline) alone waits until the deadline whenever
  // a client keeps an idle connection open (the daemon does), because gRPC's
  // core waits for every connection to close. So: start the core's shutdown
  // (no new calls from here on), wait for the calls already running, then
  // cancel whatever is left and drop the connections.
  const absl::Time deadline = absl::Now() + grace;
  static char shutdown_tag;
  grpc_server_shutdown_and_notify(server->c_server(), cq->cq(), &shutdown_tag);
  in_flight_->AwaitZero(deadline);
  // A finished call's status may still sit in the transport's write buffer,
  // and forcing the connections closed would lose it ("Broken pipe" at the
  // client). So give the transports a short while to flush and close on
  // their own (clients that poll their connection do close after GOAWAY)
  // before forcing them closed.
  const absl::Time flush_deadline =
      std::min(deadline, absl::Now() + absl::Milliseconds(250));
  grpc_event event;
  bool done = false;
  while (!done) {
    event = grpc_completion_queue_next(
        cq->cq(),
        gpr_time_from_nanos(absl::ToUnixNanos(flush_deadline),
                            GPR_CLOCK_REALTIME),
        nullptr);
    if (event.type == GRPC_QUEUE_TIMEOUT) break;
    done = event.type == GRPC_OP_COMPLETE && event.tag == &shutdown_tag;
  }
  grpc_server_cancel_all_calls(server->c_server());
  while (!done) {
    event = grpc_completion_queue_next(
        cq->cq(), gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
    done = event.type == GRPC_OP_COMPLETE && event.tag == &shutdown_tag;
  }
  // The core is down; this finishes the C++ layer's own bookkeeping.
  server->Shutdown(std::chrono::system_clock::now());
  server->Wait();
  {
    absl::MutexLock lock(&mu_);
    DrainShutdownQueueLocked();
  }
  unlink(socket_path.c_str());
}

void DriverServer::DrainShutdownQueueLocked() {
  if (shutdown_cq_ == nullptr) return;
  shutdown_cq_->Shutdown();
  grpc_event event;
  do {
    event = grpc_completion_queue_next(
        shutdown_cq_->cq(), gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
  } while (event.type != GRPC_QUEUE_SHUTDOWN);
  shutdown_cq_.reset();
}

}  // namespace pitstop::sdk
