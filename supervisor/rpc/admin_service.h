#ifndef PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_
#define PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_

// pitstop.supervisor.v1.AdminService over the Supervisor. Start and restart
// block (on a gRPC sync-server thread) until the driver settles or the
// call's deadline passes. Thread-safe.

#include "absl/synchronization/mutex.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/core/package_loader.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {

// The API view of one driver, with labels resolved from its message bundles
// for `locale` ("" for the default bundle). Secret defaults show as "***".
pitstop::supervisor::v1::Driver ToProto(const DriverStatus& status,
                                        const std::string& locale);

class AdminService final
    : public pitstop::supervisor::v1::AdminService::Service {
 public:
  // Where installs go, and the signature policy they meet.
  struct InstallOptions {
    std::string drivers_dir;
    std::string packages_dir;
    TrustPolicy trust;
  };

  AdminService(Supervisor& supervisor, EventLog& events, InstallOptions install)
      : supervisor_(supervisor),
        events_(events),
        install_(std::move(install)) {}

  grpc::Status ListDrivers(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ListDriversRequest* request,
      pitstop::supervisor::v1::ListDriversResponse* response) override;
  grpc::Status GetDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::GetDriverRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status StartDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::StartDriverRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status StopDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::StopDriverRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status RestartDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::RestartDriverRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status ValidateProperties(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ValidatePropertiesRequest* request,
      pitstop::supervisor::v1::ValidatePropertiesResponse* response) override;
  grpc::Status ResetDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ResetDriverRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status InstallDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::InstallDriverRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status RemoveDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::RemoveDriverRequest* request,
      pitstop::supervisor::v1::RemoveDriverResponse* response) override;
  grpc::Status UpgradeDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::UpgradeDriverRequest* request,
      pitstop::supervisor::v1::UpgradeDriverResponse* response) override;
  grpc::Status RollbackDriver(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::RollbackDriverRequest* request,
      pitstop::supervisor::v1::UpgradeDriverResponse* response) override;
  grpc::Status GetStartOrder(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::GetStartOrderRequest* request,
      pitstop::supervisor::v1::GetStartOrderResponse* response) override;
  // Holds a sync-server thread while following; returns when the caller
  // cancels or the server shuts down.
  grpc::Status WatchEvents(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::WatchEventsRequest* request,
      grpc::ServerWriter<pitstop::supervisor::v1::Event>* writer) override;

 private:
  // Runs `action`, then waits for the driver to settle.
  grpc::Status ActAndWait(grpc::ServerContext* context, const std::string& name,
                          absl::Status action,
                          pitstop::supervisor::v1::Driver* response);

  // Stores CAR bytes, verifies and unpacks them under the trust policy,
  // keeps the CAR in the drivers directory and registers the version (beside
  // the active one when the driver is installed). Nothing is left behind on
  // failure.
  absl::StatusOr<std::shared_ptr<const DriverPackage>> InstallBytesLocked(
      const std::string& bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(install_mu_);

  Supervisor& supervisor_;
  EventLog& events_;
  const InstallOptions install_;
  // One install or removal at a time.
  absl::Mutex install_mu_;  // held while (un)installing and upgrading
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_
