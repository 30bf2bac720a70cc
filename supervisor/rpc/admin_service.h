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
#include "supervisor/core/audit_trail.h"
#include "supervisor/core/call_history.h"
#include "supervisor/core/supervisor.h"
#include "supervisor/install/installer.h"
#include "supervisor/install/update_announcer.h"

namespace pitstop {

class AdminService final
    : public pitstop::supervisor::v1::AdminService::Service {
 public:
  // `installer` (not owned) is used under this service's install lock.
  AdminService(Supervisor& supervisor, EventLog& events, Installer& installer)
      : supervisor_(supervisor), events_(events), installer_(installer) {}

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

  // admin_canary.cc
  grpc::Status ControlCanary(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ControlCanaryRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status WhereResource(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::WhereResourceRequest* request,
      pitstop::supervisor::v1::WhereResourceResponse* response) override;
  grpc::Status PinResource(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::PinResourceRequest* request,
      pitstop::supervisor::v1::Driver* response) override;
  grpc::Status UnpinResource(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::UnpinResourceRequest* request,
      pitstop::supervisor::v1::Driver* response) override;

  // admin_stats.cc
  grpc::Status GetDriverStats(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::GetDriverStatsRequest* request,
      pitstop::supervisor::v1::GetDriverStatsResponse* response) override;

  grpc::Status ListAudit(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::ListAuditRequest* request,
      pitstop::supervisor::v1::ListAuditResponse* response) override;
  grpc::Status VerifyAudit(
      grpc::ServerContext* context,
      const pitstop::supervisor::v1::VerifyAuditRequest* request,
      pitstop::supervisor::v1::VerifyAuditResponse* response) override;

  // The audit trail the two RPCs above read (owned by the caller, outlives
  // this service); FAILED_PRECONDITION until set.
  void SetAuditTrail(AuditTrail* trail) { audit_ = trail; }

  // The call figures GetDriverStats reads (owned by the caller, outlives
  // this service); none (count_calls off) until set.
  void SetCallHistory(const CallHistory* history) { history_ = history; }

  // The repositories the RPCs above use, and who announces their updates
  // (owned by the caller, outlive this service). Call before serving.
  void SetRepositories(RepositorySet* repositories, UpdateAnnouncer* updates) {
    repositories_ = repositories;
    updates_ = updates;
  }

 private:
  // Answers an install of `installed`: starts it (and waits) when asked and
  // it is the active version, else returns the driver as it is.
  grpc::Status AfterInstall(grpc::ServerContext* context,
                            const DriverPackage& installed, bool start,
                            pitstop::supervisor::v1::Driver* response);
  // An "operator" event for an action the supervisor does not note with
  // its actor itself: installs, removes, upgrades, rollbacks.
  // Its reason: Requested(what, the caller).
  void NoteRequest(const grpc::ServerContext* context,
                   const std::string& driver, DriverState state,
                   absl::string_view what);
  // Runs `action`, then waits for the driver to settle.
  grpc::Status ActAndWait(grpc::ServerContext* context, const std::string& name,
                          absl::Status action,
                          pitstop::supervisor::v1::Driver* response);

  // Constant after construction
  Supervisor& supervisor_;
  EventLog& events_;
  Installer& installer_;  // install_mu_ held for its installs and removals
  RepositorySet* repositories_ = nullptr;  // set before serving
  UpdateAnnouncer* updates_ = nullptr;     // set before serving
  AuditTrail* audit_ = nullptr;            // set before serving
  const CallHistory* history_ = nullptr;   // set before serving

  // One install, upgrade or removal at a time.
  absl::Mutex install_mu_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_ADMIN_SERVICE_H_
