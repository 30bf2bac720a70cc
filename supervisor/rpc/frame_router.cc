#include "supervisor/rpc/frame_router.h"

#include <google/protobuf/descriptor.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "pitstop/driver/v1/hypervisor.pb.h"
#include "pitstop/driver/v1/network.pb.h"
#include "pitstop/driver/v1/storage.pb.h"
#include "supervisor/common/check.h"
#include "supervisor/rpc/listener.h"
#include "supervisor/rpc/router_loop.h"

namespace pitstop {

namespace v1 = pitstop::driver::v1;

MethodTable RoutedMethods() {
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
  MethodTable methods;
  for (const auto& [file, category] : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods[absl::StrCat("/", service->full_name(), "/",
                             service->method(m)->name())]
            .category = category;
      }
    }
  }
  size_t index = 0;
  for (auto& [path, method] : methods) method.index = index++;
  return methods;
}

std::vector<std::string> RoutedMethodNames() {
  std::vector<std::string> names;
  for (const auto& [path, method] : RoutedMethods()) names.push_back(path);
  return names;
}

FrameRouter::FrameRouter(RouteSource& routes, FrameRouterOptions options)
    : routes_(routes), options_(options), methods_(RoutedMethods()) {}

FrameRouter::~FrameRouter() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

absl::StatusOr<std::string> FrameRouter::Listen(const std::string& address) {
  CHECK(listen_fd_ < 0);
  absl::StatusOr<ListeningSocket> socket = pitstop::Listen(address);
  if (!socket.ok()) return socket.status();
  listen_fd_ = socket->fd;
  return std::move(socket->address);
}

void FrameRouter::Start(grpc::Server* backend) {
  CHECK(listen_fd_ >= 0 && loop_ == nullptr);
  loop_ = std::make_unique<RouterLoop>(routes_, options_, methods_, gate_,
                                       listen_fd_, backend);
  thread_ = std::thread([this] { loop_->Run(); });
}

namespace {

// Runs `task` on the loop's thread and waits for it.
void RunOnLoop(RouterLoop& loop, std::function<void()> task) {
  absl::Notification done;
  loop.loop().mailbox()->Post([&] {
    task();
    done.Notify();
  });
  done.WaitForNotification();
}

}  // namespace

void FrameRouter::GoAway() {
  CHECK(loop_ != nullptr);
  RunOnLoop(*loop_, [this] { loop_->GoAway(); });
}

void FrameRouter::ResumeAccepting() {
  CHECK(loop_ != nullptr);
  RunOnLoop(*loop_, [this] { loop_->ResumeAccepting(); });
}

void FrameRouter::Ping() {
  CHECK(loop_ != nullptr);
  RunOnLoop(*loop_, [] {});
}

void FrameRouter::Stop() {
  if (loop_ == nullptr) return;
  if (thread_.joinable()) {
    loop_->RequestStop();
    thread_.join();
  }
  loop_.reset();
}

}  // namespace pitstop
