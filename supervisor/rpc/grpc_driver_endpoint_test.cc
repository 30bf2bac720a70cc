#include "supervisor/rpc/grpc_driver_endpoint.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace v1 = pitstop::driver::v1;

class ReadyIdentity final : public v1::IdentityService::Service {
  grpc::Status Probe(grpc::ServerContext*, const v1::ProbeRequest*,
                     v1::ProbeResponse* response) override {
    response->set_ready(true);
    return grpc::Status::OK;
  }
};

// The probe's answer, whichever thread gives it.
struct Answer {
  absl::Mutex mu;
  bool done = false;
  absl::StatusOr<ProbeResult> result = absl::UnknownError("no answer");

  std::function<void(absl::StatusOr<ProbeResult>)> Callback() {
    return [this](absl::StatusOr<ProbeResult> r) {
      absl::MutexLock lock(&mu);
      result = std::move(r);
      done = true;
    };
  }
  absl::StatusOr<ProbeResult> Await() {
    absl::MutexLock lock(&mu);
    REQUIRE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(20)));
    return result;
  }
};

TEST_CASE(
    "a driver socket that is bound but not listening yet is reported as such "
    "without a connection attempt, and probed once it listens",
    "[rpc]") {
  std::string t = (fs::temp_directory_path() / "endpoint-XXXXXX").string();
  const std::string dir = ::mkdtemp(t.data());
  const std::string path = dir + "/driver.sock";
  GrpcDriverEndpoint endpoint(path);
  {
    Answer missing;
    endpoint.Probe(absl::Now() + absl::Seconds(5), missing.Callback());
    REQUIRE(missing.done);  // at once, on this thread
    REQUIRE(missing.result.ok());
    CHECK(!missing.result->ready);
    CHECK(missing.result->message == "not listening on its socket yet");
  }
  // What the launcher sees first: the file, from bind(), before listen().
  const int bound = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::bind(bound, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  {
    Answer not_yet;
    endpoint.Probe(absl::Now() + absl::Seconds(5), not_yet.Callback());
    REQUIRE(not_yet.done);
    REQUIRE(not_yet.result.ok());
    CHECK(!not_yet.result->ready);
    CHECK(not_yet.result->message == "not listening on its socket yet");
  }
  ::close(bound);
  fs::remove(path);
  ReadyIdentity identity;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  builder.RegisterService(&identity);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(server != nullptr);
  Answer ready;
  endpoint.Probe(absl::Now() + absl::Seconds(10), ready.Callback());
  absl::StatusOr<ProbeResult> r = ready.Await();
  REQUIRE(r.ok());
  CHECK(r->ready);
  server->Shutdown();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pitstop
