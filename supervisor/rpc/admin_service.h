#ifndef PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_
#define PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_

// pitstop.supervisor.v1.AdminService over the Supervisor. Start and restart
// block (on a gRPC sync-server thread) until the driver settles or the
// call's deadline passes. Thread-safe.

#include <map>
#include <set>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "pitstop/supervisor/v1/admin.grpc.pb.h"
#include "supervisor/core/package_loader.h"
#include "supervisor/core/supervisor.h"

namespace pitstop {

class RepositorySet;
struct AvailableUpdate;

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

  // Driver repositories; FAILED_PRECONDITION until SetRepositories.
  grpc::Status ListRepositories(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ListRepositoriesRequest* request,
      pitstop::supervisor::v1::ListRepositoriesResponse* response) override;
  grpc::Status AddRepository(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::AddRepositoryRequest* request,
      pitstop::supervisor::v1::Repository* response) override;
  grpc::Status RemoveRepository(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::RemoveRepositoryRequest* request,
      pitstop::supervisor::v1::RemoveRepositoryResponse* response) override;
  grpc::Status ListUpdates(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ListUpdatesRequest* request,
      pitstop::supervisor::v1::ListUpdatesResponse* response) override;
  grpc::Status InstallFromRepository(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::InstallFromRepositoryRequest* request,
      pitstop::supervisor::v1::Driver* response) override;

  // The repositories the RPCs above use (owned by the caller, outlives
  // this service). Call before serving.
  void SetRepositories(RepositorySet* repositories) {
    repositories_ = repositories;
  }

  // Refreshes every repository and appends an "update-available" event for
  // each installed driver with a newer version offered (once per version).
  // Blocks for the downloads; the daemon calls it periodically.
  void CheckForUpdates() ABSL_LOCKS_EXCLUDED(updates_mu_);

 private:
  // Answers an install of `installed`: starts it (and waits) when asked and
  // it is the active version, else returns the driver as it is.
  grpc::Status AfterInstall(grpc::ServerContext* context,
                            const DriverPackage& installed, bool start,
                            pitstop::supervisor::v1::Driver* response);
  // Runs `action`, then waits for the driver to settle.
  grpc::Status ActAndWait(grpc::ServerContext* context, const std::string& name,
                          absl::Status action,
                          pitstop::supervisor::v1::Driver* response);

  // Stores CAR bytes, verifies and unpacks them under the trust policy,
  // keeps the CAR in the drivers directory and registers the version (beside
  // the active one when the driver is installed). Nothing is left behind on
  // failure.
  // `grants` are permissions the operator gives it (kept as <car>.grants).
  absl::StatusOr<std::shared_ptr<const DriverPackage>> InstallBytesLocked(
      const std::string& bytes, const std::vector<std::string>& grants = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(install_mu_);
  // The same for a CAR already in a file inside the drivers directory, named
  // so that the loader ignores it (renamed into place, or left to the
  // caller to remove on failure).
  absl::StatusOr<std::shared_ptr<const DriverPackage>> InstallFileLocked(
      const std::string& path, const std::vector<std::string>& grants = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(install_mu_);

  // Appends an "update-available" event for each update not announced yet.
  void AnnounceUpdates(const std::vector<AvailableUpdate>& updates)
      ABSL_LOCKS_EXCLUDED(updates_mu_);
  // Installed drivers: name -> active version.
  std::map<std::string, std::string> InstalledVersions();

  Supervisor& supervisor_;
  EventLog& events_;
  const InstallOptions install_;
  RepositorySet* repositories_ = nullptr;
  // "name version" of updates already announced as events.
  absl::Mutex updates_mu_;
  std::set<std::string> announced_ ABSL_GUARDED_BY(updates_mu_);
  // One install or removal at a time.
  absl::Mutex install_mu_;  // held while (un)installing and upgrading
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_
