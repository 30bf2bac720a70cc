#include "supervisor/rpc/admin_service.h"

#include <google/protobuf/util/time_util.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/common/logging.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/core/operator_actions.h"
#include "supervisor/core/sandbox_policy.h"
#include "supervisor/repo/repository_set.h"
#include "supervisor/rpc/admin_canary.h"
#include "supervisor/rpc/admin_proto.h"
#include "supervisor/rpc/event_kind.h"
#include "supervisor/rpc/peer_identity.h"
#include "supervisor/rpc/status_conversion.h"
#include "supervisor/schema/property_validator.h"

namespace pitstop {
namespace {

// Who made the call, as the router said (its pitstop-peer header, which no
// client can set); "" when the call did not come through the router.
std::string Actor(const grpc::ServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find(kPeerMetadataKey);
  return it == metadata.end()
             ? ""
             : std::string(it->second.data(), it->second.size());
}

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

}  // namespace

grpc::Status AdminService::ListDrivers(grpc::ServerContext*,
                                       const sv1::ListDriversRequest* request,
                                       sv1::ListDriversResponse* response) {
  for (const DriverStatus& s : supervisor_.List()) {
    *response->add_drivers() = ToProto(s, request->locale());
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::GetDriver(grpc::ServerContext*,
                                     const sv1::GetDriverRequest* request,
                                     sv1::Driver* response) {
  auto status = supervisor_.Get(request->name());
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = ToProto(*status, request->locale());
  return grpc::Status::OK;
}

grpc::Status AdminService::ResetDriver(grpc::ServerContext* context,
                                       const sv1::ResetDriverRequest* request,
                                       sv1::Driver* response) {
  return ActAndWait(context, request->name(),
                    supervisor_.Reset(request->name(), Actor(context)),
                    response);
}

grpc::Status AdminService::AfterInstall(grpc::ServerContext* context,
                                        const DriverPackage& installed,
                                        bool start, sv1::Driver* response) {
  const std::string& name = installed.manifest.name;
  auto status = supervisor_.Get(name);
  if (!status.ok()) return ToGrpcStatus(status.status());
  NoteRequest(
      context, name, status->state,
      absl::StrCat("install of ", installed.manifest.version.ToString()));
  // Started only when it is the active version (a first install): a version
  // installed beside the active one waits for `pitstop upgrade`.
  if (start &&
      status->package->manifest.version == installed.manifest.version) {
    return ActAndWait(context, name, supervisor_.Start(name, Actor(context)),
                      response);
  }
  *response = ToProto(*status, "");
  return grpc::Status::OK;
}

grpc::Status AdminService::InstallDriver(
    grpc::ServerContext* context, const sv1::InstallDriverRequest* request,
    sv1::Driver* response) {
  std::vector<std::string> grants;
  for (const std::string& g : request->grants()) {
    if (std::string bad = CheckGrant(g); !bad.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, bad);
    }
    grants.push_back(g);
  }
  absl::MutexLock lock(&install_mu_);
  auto package = installer_.InstallBytes(request->car(), grants);
  if (!package.ok()) return ToGrpcStatus(package.status());
  return AfterInstall(context, **package, request->start(), response);
}

grpc::Status AdminService::UpgradeDriver(
    grpc::ServerContext* context, const sv1::UpgradeDriverRequest* request,
    sv1::UpgradeDriverResponse* response) {
  std::string version = request->version();
  // A version that is neither installed nor sent comes from a repository,
  // downloaded before taking the install lock (a slow repository must not
  // hold up other installs).
  std::optional<FetchedCar> fetched;
  std::error_code ec;
  absl::Cleanup remove_fetched = [&] {
    if (fetched) std::filesystem::remove(fetched->path, ec);
  };
  if (request->car().empty() && !version.empty() && repositories_ != nullptr) {
    auto current = supervisor_.Get(request->name());
    if (current.ok() && std::find(current->installed_versions.begin(),
                                  current->installed_versions.end(), version) ==
                            current->installed_versions.end()) {
      auto got = repositories_->Fetch(request->name(), version,
                                      installer_.options().drivers_dir);
      if (got.ok()) {
        fetched = *std::move(got);
      } else if (!absl::IsNotFound(got.status())) {
        // Found but refused (tampered, expired, too large...): say why.
        return ToGrpcStatus(got.status());
      }
      // Not in any repository either: the supervisor's NOT_FOUND below
      // lists the installed versions.
    }
  }
  absl::MutexLock lock(&install_mu_);
  if (fetched) {
    LogInfo("pitstopd", "upgrading from a repository",
            {{"driver", request->name()},
             {"version", version},
             {"repository", fetched->repository},
             {"url", fetched->url}});
    auto package = installer_.InstallFile(fetched->path);
    if (!package.ok() && !absl::IsAlreadyExists(package.status())) {
      return ToGrpcStatus(package.status());
    }
  }
  if (!request->car().empty()) {
    auto package = installer_.InstallBytes(request->car());
    if (absl::IsAlreadyExists(package.status())) {
      return grpc::Status(
          grpc::StatusCode::ALREADY_EXISTS,
          absl::StrCat(package.status().message(),
                       "; to upgrade to the installed version, name it: "
                       "`pitstop upgrade ",
                       request->name(), " --to VERSION`"));
    }
    if (!package.ok()) return ToGrpcStatus(package.status());
    if ((*package)->manifest.name != request->name()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("the CAR holds driver ", (*package)->manifest.name,
                       ", not ", request->name(),
                       "; it was installed, but nothing was upgraded"));
    }
    version = (*package)->manifest.version.ToString();
  }
  if (version.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "name the version to upgrade to, or send a CAR");
  }
  auto before = supervisor_.Get(request->name());
  if (!before.ok()) return ToGrpcStatus(before.status());
  UpgradeOptions options;
  options.drain_timeout = absl::Milliseconds(request->drain_timeout_ms());
  options.probation = absl::Milliseconds(request->probation_ms());
  if (request->has_canary()) {
    absl::StatusOr<CanaryPlan> plan = CanaryPlanFromProto(request->canary());
    if (!plan.ok()) return ToGrpcStatus(plan.status());
    options.canary = *std::move(plan);
  }
  NoteRequest(
      context, request->name(), before->state,
      absl::StrCat(options.canary ? "canary upgrade to " : "upgrade to ",
                   version));
  auto started = supervisor_.Upgrade(request->name(), version, options);
  if (!started.ok()) return ToGrpcStatus(started.status());
  response->set_name(request->name());
  response->set_from_version(before->package->manifest.version.ToString());
  response->set_to_version(version);
  response->set_started_sequence(*started);
  return grpc::Status::OK;
}

grpc::Status AdminService::RollbackDriver(
    grpc::ServerContext* context, const sv1::RollbackDriverRequest* request,
    sv1::UpgradeDriverResponse* response) {
  absl::MutexLock lock(&install_mu_);
  auto before = supervisor_.Get(request->name());
  if (!before.ok()) return ToGrpcStatus(before.status());
  UpgradeOptions options;
  options.drain_timeout = absl::Milliseconds(request->drain_timeout_ms());
  options.probation = absl::Milliseconds(request->probation_ms());
  NoteRequest(context, request->name(), before->state, "rollback");
  auto started = supervisor_.Rollback(request->name(), options);
  if (!started.ok()) return ToGrpcStatus(started.status());
  response->set_name(request->name());
  // Abandoning an upgrade goes from its new version back to its old one.
  const bool abandoning = !before->upgrade.empty();
  response->set_from_version(
      abandoning ? before->upgrade_to
                 : before->package->manifest.version.ToString());
  response->set_to_version(abandoning ? before->upgrade_from
                                      : before->previous_version);
  response->set_started_sequence(*started);
  return grpc::Status::OK;
}

grpc::Status AdminService::RemoveDriver(grpc::ServerContext* context,
                                        const sv1::RemoveDriverRequest* request,
                                        sv1::RemoveDriverResponse* response) {
  absl::MutexLock lock(&install_mu_);
  if (auto before = supervisor_.Get(request->name()); before.ok()) {
    NoteRequest(context, request->name(), before->state,
                request->version().empty()
                    ? std::string("remove")
                    : absl::StrCat("remove of ", request->version()));
  }
  auto removed = installer_.Remove(request->name(), request->version());
  if (!removed.ok()) return ToGrpcStatus(removed.status());
  response->set_name(request->name());
  for (const auto& p : *removed) {
    response->add_versions(p->manifest.version.ToString());
  }
  if (!removed->empty()) {
    response->set_version(removed->back()->manifest.version.ToString());
  }
  return grpc::Status::OK;
}

void AdminService::NoteRequest(const grpc::ServerContext* context,
                               const std::string& driver, DriverState state,
                               absl::string_view what) {
  DriverEvent event;
  event.driver = driver;
  event.kind = "operator";
  event.from = event.to = state;
  event.reason = Requested(what, Actor(context));
  events_.Append(std::move(event));
}

grpc::Status AdminService::GetStartOrder(grpc::ServerContext*,
                                         const sv1::GetStartOrderRequest*,
                                         sv1::GetStartOrderResponse* response) {
  for (const Supervisor::OrderEntry& e : supervisor_.StartOrderDetails()) {
    sv1::StartOrderEntry* out = response->add_drivers();
    out->set_name(e.name);
    out->set_category(ToProto(e.category));
    out->set_level(e.level);
    for (const std::string& r : e.requires_) out->add_requires(r);
    out->set_reason(e.reason);
    out->set_startable(e.startable);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::ListAudit(grpc::ServerContext*,
                                     const sv1::ListAuditRequest* request,
                                     sv1::ListAuditResponse* response) {
  if (audit_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this pitstopd keeps no audit trail");
  }
  const int32_t limit = request->limit() <= 0 || request->limit() > 1000
                            ? 1000
                            : request->limit();
  absl::StatusOr<std::vector<AuditRecord>> records =
      audit_->List(request->after_sequence(), static_cast<size_t>(limit));
  if (!records.ok()) return ToGrpcStatus(records.status());
  for (const AuditRecord& r : *records) {
    sv1::AuditRecord* out = response->add_records();
    out->set_sequence(r.seq);
    *out->mutable_time() = ToTimestamp(r.at);
    out->set_actor(r.actor);
    out->set_action(r.action);
    out->set_arguments(r.args);
    out->set_code(r.code);
    out->set_message(r.message);
    out->set_previous_hash(r.prev_hash);
    out->set_hash(r.hash);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::VerifyAudit(grpc::ServerContext*,
                                       const sv1::VerifyAuditRequest*,
                                       sv1::VerifyAuditResponse* response) {
  if (audit_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this pitstopd keeps no audit trail");
  }
  absl::StatusOr<AuditVerdict> v = audit_->Verify();
  if (!v.ok()) return ToGrpcStatus(v.status());
  response->set_intact(v->intact);
  response->set_records(v->records);
  response->set_first_bad_sequence(v->first_bad_seq);
  response->set_reason(v->why);
  response->set_last_hash(v->last_hash);
  return grpc::Status::OK;
}

grpc::Status AdminService::WatchEvents(grpc::ServerContext* context,
                                       const sv1::WatchEventsRequest* request,
                                       grpc::ServerWriter<sv1::Event>* writer) {
  uint64_t since =
      request->from_now() ? events_.Last() : request->since_sequence();
  while (true) {
    uint64_t seen = since;
    for (const DriverEvent& e :
         events_.Since(since, request->driver(), &seen)) {
      if (!writer->Write(ToProto(e))) {
        return grpc::Status::OK;  // the caller went away
      }
    }
    since = seen;
    if (!request->follow()) return grpc::Status::OK;
    // Wake now and then to notice a cancelled caller.
    while (!context->IsCancelled() &&
           !events_.AwaitAfter(since, absl::Now() + absl::Milliseconds(250))) {
    }
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
  }
}

grpc::Status AdminService::ValidateProperties(
    grpc::ServerContext*, const sv1::ValidatePropertiesRequest* request,
    sv1::ValidatePropertiesResponse* response) {
  auto status = supervisor_.Get(request->name());
  if (!status.ok()) return ToGrpcStatus(status.status());
  const DriverManifest& m = status->package->manifest;
  ValidatedBag result = ValidatePropertyBag(m, request->properties());
  response->set_valid(result.violations.empty());
  for (const PropertyViolation& v : result.violations) {
    sv1::PropertyViolation* out = response->add_violations();
    out->set_key(v.key);
    out->set_rule(v.rule);
    out->set_message(v.message);
  }
  RedactSecrets(m, &result.properties);
  *response->mutable_properties() = std::move(result.properties);
  return grpc::Status::OK;
}

grpc::Status AdminService::ActAndWait(grpc::ServerContext* context,
                                      const std::string& name,
                                      absl::Status action,
                                      sv1::Driver* response) {
  if (!action.ok()) return ToGrpcStatus(action);
  auto current = supervisor_.Get(name);
  if (!current.ok()) return ToGrpcStatus(current.status());
  const DriverManifest& m = current->package->manifest;
  absl::Time deadline =
      absl::Now() + m.timeouts.start + m.timeouts.stop + absl::Seconds(2);
  const auto client_deadline = context->deadline();
  if (client_deadline != std::chrono::system_clock::time_point::max()) {
    deadline = std::min(deadline, absl::FromChrono(client_deadline));
  }
  auto settled = supervisor_.AwaitSettled(name, deadline);
  if (!settled.ok()) return ToGrpcStatus(settled.status());
  *response = ToProto(*settled, "");
  return grpc::Status::OK;
}

grpc::Status AdminService::StartDriver(grpc::ServerContext* context,
                                       const sv1::StartDriverRequest* request,
                                       sv1::Driver* response) {
  return ActAndWait(context, request->name(),
                    supervisor_.Start(request->name(), Actor(context)),
                    response);
}

grpc::Status AdminService::StopDriver(grpc::ServerContext* context,
                                      const sv1::StopDriverRequest* request,
                                      sv1::Driver* response) {
  return ActAndWait(context, request->name(),
                    supervisor_.Stop(request->name(), Actor(context)),
                    response);
}

grpc::Status AdminService::RestartDriver(
    grpc::ServerContext* context, const sv1::RestartDriverRequest* request,
    sv1::Driver* response) {
  return ActAndWait(
      context, request->name(),
      supervisor_.Restart(request->name(), request->force(), Actor(context)),
      response);
}

namespace {

grpc::Status NoRepositories() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "this daemon has no repository support configured");
}

}  // namespace

grpc::Status AdminService::ListRepositories(
    grpc::ServerContext*, const sv1::ListRepositoriesRequest* request,
    sv1::ListRepositoriesResponse* response) {
  if (repositories_ == nullptr) return NoRepositories();
  // Failures are reported per repository.
  if (request->refresh()) (void)repositories_->Refresh();
  for (const RepositoryStatus& r : repositories_->List()) {
    *response->add_repositories() = ToProto(r);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::AddRepository(
    grpc::ServerContext*, const sv1::AddRepositoryRequest* request,
    sv1::Repository* response) {
  if (repositories_ == nullptr) return NoRepositories();
  auto added = repositories_->Add(request->name(), request->url());
  if (!added.ok()) return ToGrpcStatus(added.status());
  *response = ToProto(*added);
  LogInfo("pitstopd", "repository added",
          {{"repository", request->name()}, {"url", added->url}});
  return grpc::Status::OK;
}

grpc::Status AdminService::RemoveRepository(
    grpc::ServerContext*, const sv1::RemoveRepositoryRequest* request,
    sv1::RemoveRepositoryResponse*) {
  if (repositories_ == nullptr) return NoRepositories();
  return ToGrpcStatus(repositories_->Remove(request->name()));
}

grpc::Status AdminService::ListUpdates(grpc::ServerContext*,
                                       const sv1::ListUpdatesRequest* request,
                                       sv1::ListUpdatesResponse* response) {
  if (repositories_ == nullptr) return NoRepositories();
  if (request->refresh()) (void)repositories_->Refresh();
  for (const RepositoryStatus& r : repositories_->List()) {
    if (!r.last_error.empty()) {
      response->add_errors(absl::StrCat(r.name, ": ", r.last_error));
    }
  }
  const std::vector<AvailableUpdate> updates = updates_->Updates();
  for (const AvailableUpdate& u : updates) {
    sv1::AvailableUpdate* out = response->add_updates();
    out->set_name(u.name);
    out->set_installed_version(u.installed_version);
    out->set_available_version(u.available_version);
    out->set_repository(u.repository);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::InstallFromRepository(
    grpc::ServerContext* context,
    const sv1::InstallFromRepositoryRequest* request, sv1::Driver* response) {
  if (repositories_ == nullptr) return NoRepositories();
  std::vector<std::string> grants;
  for (const std::string& g : request->grants()) {
    if (std::string bad = CheckGrant(g); !bad.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, bad);
    }
    grants.push_back(g);
  }
  // Downloaded before taking the install lock: a slow repository must not
  // hold up other installs. The file's name is one the loader ignores.
  auto fetched = repositories_->Fetch(request->name(), request->version(),
                                      installer_.options().drivers_dir);
  if (!fetched.ok()) return ToGrpcStatus(fetched.status());
  std::error_code ec;
  absl::Cleanup remove_tmp = [&] {
    std::filesystem::remove(fetched->path, ec);
  };
  LogInfo("pitstopd", "installing from a repository",
          {{"driver", request->name()},
           {"version", fetched->entry.version.ToString()},
           {"repository", fetched->repository},
           {"url", fetched->url}});
  absl::MutexLock lock(&install_mu_);
  auto package = installer_.InstallFile(fetched->path, grants);
  if (!package.ok()) return ToGrpcStatus(package.status());
  return AfterInstall(context, **package, request->start(), response);
}

}  // namespace pitstop
