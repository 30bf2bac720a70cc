#include "supervisor/sanity/sanity_checks.h"

#include <grpcpp/create_channel.h>
#include <signal.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/identity.grpc.pb.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/sanity/call_checks.h"
#include "supervisor/sanity/call_kit.h"
#include "supervisor/sanity/upgrade_check.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

// How long a start may take beyond the driver's own timeouts.start.
constexpr absl::Duration kMargin = absl::Seconds(10);

// The identity service on the driver's own socket, as the daemon probes it.
std::unique_ptr<dv1::IdentityService::Stub> Identity(const sv1::Driver& d) {
  return dv1::IdentityService::NewStub(grpc::CreateChannel(
      "unix:" + d.socket_path(), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration d) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + d));
  return ctx;
}

absl::Status StartsReady(SanityTarget& t) {
  auto d = AwaitReady(t, 0, t.manifest.timeouts.start + kMargin);
  return d.ok() ? absl::OkStatus() : d.status();
}

absl::Status Probes(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver d, AwaitReady(t, 0, kMargin));
  dv1::ProbeResponse probe;
  auto ctx = Deadline(absl::Seconds(5));
  grpc::Status s = Identity(d)->Probe(ctx.get(), {}, &probe);
  if (!s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Probe on ", d.socket_path(), " failed: ", s.error_message()));
  }
  if (!probe.ready()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Probe says not ready while the daemon shows READY: ",
                     probe.message()));
  }
  return absl::OkStatus();
}

absl::Status GetInfoAgrees(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver d, AwaitReady(t, 0, kMargin));
  dv1::GetInfoResponse info;
  auto ctx = Deadline(absl::Seconds(5));
  grpc::Status s = Identity(d)->GetInfo(ctx.get(), {}, &info);
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("GetInfo failed: ", s.error_message()));
  }
  std::vector<std::string> wrong;
  if (info.name() != t.manifest.name) {
    wrong.push_back(absl::StrCat("name '", info.name(), "', driver.yaml '",
                                 t.manifest.name, "'"));
  }
  if (info.version() != t.manifest.version.ToString()) {
    wrong.push_back(absl::StrCat("version '", info.version(),
                                 "', driver.yaml '",
                                 t.manifest.version.ToString(), "'"));
  }
  bool v1 = false;
  for (const std::string& p : info.protocol_versions()) v1 |= p == "v1";
  if (!v1) wrong.push_back("protocol_versions lacks \"v1\"");
  if (wrong.empty()) return absl::OkStatus();
  std::string message = "GetInfo disagrees with driver.yaml:";
  for (const std::string& w : wrong) absl::StrAppend(&message, " ", w, ";");
  return absl::FailedPreconditionError(message);
}

// grpc.health.v1.Health/Check of `service` on the daemon, by hand (the
// request is one string field; the answer one enum): 1 SERVING, 2
// NOT_SERVING, 0 when the call failed.
int HealthStatus(SanityDaemon& daemon, const std::string& service) {
  const std::string request =
      std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  const RoutedAnswer a =
      CallRaw(daemon.channel(), "/grpc.health.v1.Health/Check", request,
              absl::Seconds(5));
  if (a.code != grpc::StatusCode::OK) return 0;
  return a.response.size() == 2 && a.response[0] == 0x08 ? a.response[1] : 0;
}

absl::Status HealthServing(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver d, AwaitReady(t, 0, kMargin));
  const std::string service = "pitstop.driver/" + t.manifest.name;
  // The daemon sets it from the driver's events: give it a moment.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  int status = HealthStatus(*t.daemon, service);
  while (status != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    status = HealthStatus(*t.daemon, service);
  }
  if (status != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("the health service ", service,
                     " is not SERVING while the driver "
                     "is READY (status ",
                     status, ")"));
  }
  return absl::OkStatus();
}

absl::Status Sandboxed(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver d, AwaitReady(t, 0, kMargin));
  if (d.sandbox().mode().empty() || d.sandbox().mode() == "off") {
    return absl::FailedPreconditionError(
        "the serving process runs without a sandbox (mode off)");
  }
  return absl::OkStatus();
}

absl::Status BagChecked(SanityTarget& t) {
  sv1::ValidatePropertiesRequest good;
  good.set_name(t.manifest.name);
  for (const auto& [k, v] : t.props) {
    (*good.mutable_properties())[k].set_string_value(v);
  }
  sv1::ValidatePropertiesResponse out;
  auto ctx = Deadline(absl::Seconds(10));
  grpc::Status s = t.daemon->admin().ValidateProperties(ctx.get(), good, &out);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  if (!out.valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the bag (--props, or made from the schema) is refused: ",
        out.violations_size() > 0 ? out.violations(0).message() : "?"));
  }
  for (const PropertySpec& p : t.manifest.properties) {
    if (p.default_value && !t.props.count(p.key) &&
        !out.properties().count(p.key)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the default of ", p.key, " does not arrive in the bag"));
    }
    if (!p.required || p.default_value) continue;
    sv1::ValidatePropertiesRequest bad = good;
    bad.mutable_properties()->erase(p.key);
    sv1::ValidatePropertiesResponse refused;
    auto again = Deadline(absl::Seconds(10));
    if (!t.daemon->admin()
             .ValidateProperties(again.get(), bad, &refused)
             .ok() ||
        refused.valid()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a bag without the required ", p.key, " is not refused"));
    }
  }
  return absl::OkStatus();
}

absl::Status StopsOnSigterm(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver before, AwaitReady(t, 0, kMargin));
  sv1::StopDriverRequest stop;
  stop.set_name(t.manifest.name);
  sv1::Driver after;
  auto ctx = Deadline(t.manifest.timeouts.stop + kMargin);
  const absl::Time start = absl::Now();
  grpc::Status s = t.daemon->admin().StopDriver(ctx.get(), stop, &after);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  auto stopped = t.daemon->AwaitDriver(
      t.manifest.name,
      [](const sv1::Driver& d) {
        return d.state() == sv1::DRIVER_STATE_STOPPED;
      },
      t.manifest.timeouts.stop + kMargin);
  if (!stopped.ok()) return stopped.status();
  const absl::Duration took = absl::Now() - start;
  absl::Status verdict = absl::OkStatus();
  if (!absl::StrContains(stopped->last_exit(), "status 0")) {
    verdict = absl::FailedPreconditionError(absl::StrCat(
        "SIGTERM did not end pid ", before.pid(),
        " with exit 0 within "
        "timeouts.stop (",
        absl::FormatDuration(t.manifest.timeouts.stop),
        "): ", stopped->last_exit(), " after ", absl::FormatDuration(took)));
  }
  // Started again either way: the checks after this one need it.
  sv1::StartDriverRequest start_again;
  start_again.set_name(t.manifest.name);
  auto restart_ctx = Deadline(t.manifest.timeouts.start + kMargin);
  (void)t.daemon->admin().StartDriver(restart_ctx.get(), start_again, &after);
  auto ready = AwaitReady(t, 0, t.manifest.timeouts.start + kMargin);
  if (!verdict.ok()) return verdict;
  return ready.ok() ? absl::OkStatus() : ready.status();
}

absl::Status RecoversFromKill(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver before, AwaitReady(t, 0, kMargin));
  if (::kill(before.pid(), SIGKILL) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot kill pid ", before.pid()));
  }
  auto after = AwaitReady(t, before.pid(), t.manifest.timeouts.start + kMargin);
  if (!after.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "after kill -9 of pid ", before.pid(), ": ", after.status().message()));
  }
  return absl::OkStatus();
}

absl::Status RestartsGracefully(SanityTarget& t) {
  ASSIGN_OR_RETURN(sv1::Driver before, AwaitReady(t, 0, kMargin));
  sv1::RestartDriverRequest restart;
  restart.set_name(t.manifest.name);
  sv1::Driver after;
  auto ctx =
      Deadline(t.manifest.timeouts.start + t.manifest.timeouts.stop + kMargin);
  grpc::Status s = t.daemon->admin().RestartDriver(ctx.get(), restart, &after);
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("graceful restart failed: ", s.error_message()));
  }
  auto ready = AwaitReady(t, before.pid(), kMargin);
  return ready.ok() ? absl::OkStatus() : ready.status();
}

}  // namespace

std::map<std::string, std::string> BagFromSchema(const DriverManifest& m) {
  std::map<std::string, std::string> bag;
  for (const PropertySpec& p : m.properties) {
    if (!p.required || p.default_value) continue;
    if (!p.allowed_values.empty()) {
      bag[p.key] = PropertyScalarText(p.allowed_values.front());
    } else if (p.type == PropertyType::kNumber) {
      bag[p.key] = p.minimum ? p.minimum->ToString() : "1";
    } else if (p.type == PropertyType::kBoolean) {
      bag[p.key] = "true";
    } else if (p.type == PropertyType::kDate) {
      bag[p.key] = "2026-01-01";
    } else {
      bag[p.key] = "sanity";
    }
  }
  return bag;
}

const std::vector<SanityCheck>& SanityChecks() {
  static const std::vector<SanityCheck> checks = {
      {"start.ready",
       "installs under a private pitstopd and becomes READY within "
       "timeouts.start",
       false, StartsReady},
      {"identity.probe", "Probe on its own socket answers ready", true, Probes},
      {"identity.get-info",
       "GetInfo agrees with driver.yaml: name, version, protocol v1", true,
       GetInfoAgrees},
      {"health.serving",
       "the standard health API shows it SERVING as pitstop.driver/NAME", true,
       HealthServing},
      {"sandbox.applied", "its process runs sandboxed (strict or best-effort)",
       true, Sandboxed},
      {"properties.checked",
       "a valid bag passes with its defaults applied; one without a required "
       "property is refused",
       false, BagChecked},
      {"calls.every-method",
       "every method of its category service answers within 10 s (UNKNOWN, "
       "a hang or a crash is no answer); a method of a declared capability is "
       "not UNIMPLEMENTED",
       true, EveryMethodAnswers},
      {"calls.operation-id",
       "a creating call repeated with its operation id answers the same, "
       "and the id reused for another resource is INVALID_ARGUMENT",
       true, HonoursOperationIds},
      {"calls.unknown-resource-type",
       "a call of a resource type it does not have is INVALID_ARGUMENT or "
       "NOT_FOUND",
       true, RefusesUnknownResourceType},
      {"calls.large-request",
       "a request of 3 MiB is taken as the same request without the extra "
       "bytes",
       true, TakesLargeRequests},
      {"lifecycle.sigterm",
       "SIGTERM ends it with exit 0 within timeouts.stop, and it starts again",
       true, StopsOnSigterm},
      {"lifecycle.kill-9", "after kill -9 it is restarted and READY again",
       true, RecoversFromKill},
      {"lifecycle.kill-9-keeps-operations",
       "after the kill -9 the operation calls.operation-id applied is still "
       "remembered: sent again with its id, it answers as before",
       true, RemembersAfterKill},
      {"lifecycle.graceful-restart",
       "a graceful restart brings up a new process that becomes READY", true,
       RestartsGracefully},
      {"lifecycle.upgrade-to-itself",
       "upgraded in place to a copy of itself (a higher version) under "
       "creating calls from 4 callers, it commits with none failed",
       true, UpgradesToItselfUnderLoad},
  };
  return checks;
}

}  // namespace pitstop
