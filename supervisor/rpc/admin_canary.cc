#include "supervisor/rpc/admin_canary.h"

#include "absl/strings/str_cat.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/rpc/admin_proto.h"
#include "supervisor/rpc/admin_service.h"
#include "supervisor/rpc/status_conversion.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

sv1::CanaryFigures ToProto(const CallFigures& f) {
  sv1::CanaryFigures out;
  out.set_version(f.version);
  out.set_calls(f.calls);
  out.set_driver_errors(f.driver_errors);
  out.set_error_rate(f.error_rate);
  out.set_p99_seconds(f.p99_seconds);
  return out;
}

}  // namespace

absl::StatusOr<CanaryPlan> CanaryPlanFromProto(const sv1::CanaryPlan& p) {
  if (p.resources_size() > static_cast<int>(kMaxCanaryNamed)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a canary names at most ", kMaxCanaryNamed, " resources (got ",
        p.resources_size(), "); give a share instead (--canary 10%)"));
  }
  CanaryPlan plan;
  plan.steps.assign(p.steps_percent().begin(), p.steps_percent().end());
  plan.named.insert(p.resources().begin(), p.resources().end());
  if (p.interval_ms() != 0) plan.interval = absl::Milliseconds(p.interval_ms());
  const sv1::CanaryGate& g = p.gate();
  if (g.has_max_error_rate_increase_percent()) {
    plan.gate.max_error_rate_increase =
        g.max_error_rate_increase_percent() / 100;
  }
  if (g.has_max_p99_ratio()) plan.gate.max_p99_ratio = g.max_p99_ratio();
  if (g.has_min_calls()) plan.gate.min_calls = g.min_calls();
  RETURN_IF_ERROR(CheckCanaryPlan(plan));
  return plan;
}

sv1::CanaryPlan ToProto(const CanaryPlan& plan) {
  sv1::CanaryPlan out;
  for (double s : plan.steps) out.add_steps_percent(s);
  for (const std::string& r : plan.named) out.add_resources(r);
  out.set_interval_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(plan.interval)));
  sv1::CanaryGate* g = out.mutable_gate();
  g->set_max_error_rate_increase_percent(plan.gate.max_error_rate_increase *
                                         100);
  g->set_max_p99_ratio(plan.gate.max_p99_ratio);
  g->set_min_calls(static_cast<uint32_t>(plan.gate.min_calls));
  return out;
}

sv1::Canary ToProto(const CanaryStatus& c, const std::string& from,
                    const std::string& to) {
  sv1::Canary out;
  out.set_from_version(from);
  out.set_to_version(to);
  *out.mutable_plan() = ToProto(c.plan);
  out.set_step(static_cast<uint32_t>(c.step));
  out.set_percent(c.percent);
  out.set_serving(c.serving);
  out.set_resuming(c.resuming);
  out.set_paused(c.paused);
  if (c.gate_due != absl::InfiniteFuture()) {
    *out.mutable_gate_time() = ToTimestamp(c.gate_due);
  }
  *out.mutable_old_figures() = ToProto(c.old_figures);
  *out.mutable_new_figures() = ToProto(c.new_figures);
  out.set_verdict(c.verdict);
  out.set_resources_moving(static_cast<uint32_t>(c.resources_moving));
  return out;
}

grpc::Status AdminService::ControlCanary(
    grpc::ServerContext* context, const sv1::ControlCanaryRequest* request,
    sv1::Driver* response) {
  Supervisor::CanaryAction action;
  switch (request->action()) {
    case sv1::ControlCanaryRequest::ACTION_PROMOTE:
      action = Supervisor::CanaryAction::kPromote;
      break;
    case sv1::ControlCanaryRequest::ACTION_PAUSE:
      action = Supervisor::CanaryAction::kPause;
      break;
    case sv1::ControlCanaryRequest::ACTION_RESUME:
      action = Supervisor::CanaryAction::kResume;
      break;
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "action must be ACTION_PROMOTE, ACTION_PAUSE or "
                          "ACTION_RESUME");
  }
  auto before = supervisor_.Get(request->name());
  if (!before.ok()) return ToGrpcStatus(before.status());
  NoteRequest(context, request->name(), before->state,
              absl::StrCat("canary ", sv1::ControlCanaryRequest::Action_Name(
                                          request->action())));
  auto done = supervisor_.ControlCanary(request->name(), action);
  if (!done.ok()) return ToGrpcStatus(done.status());
  auto after = supervisor_.Get(request->name());
  if (!after.ok()) return ToGrpcStatus(after.status());
  *response = ToProto(*after, "");
  return grpc::Status::OK;
}

grpc::Status AdminService::WhereResource(
    grpc::ServerContext*, const sv1::WhereResourceRequest* request,
    sv1::WhereResourceResponse* response) {
  const std::string& resource = request->resource();
  const size_t slash = resource.find('/');
  if (slash == std::string::npos || slash == 0 ||
      slash + 1 == resource.size() || resource.size() > 256) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("resource \"", resource.substr(0, 64),
                     "\" is not TYPE/ID (at most 256 characters), e.g. "
                     "volume/vol-1"));
  }
  auto placed = supervisor_.Where(request->name(), resource);
  if (!placed.ok()) return ToGrpcStatus(placed.status());
  auto status = supervisor_.Get(request->name());
  if (!status.ok()) return ToGrpcStatus(status.status());
  response->set_version(placed->version);
  response->set_pid(placed->pid);
  response->set_moving_from(placed->moving_from);
  const CanaryStatus* c = status->canary ? &*status->canary : nullptr;
  const std::string step = c == nullptr
                               ? ""
                               : absl::StrCat(" (step ", c->step + 1, " of ",
                                              c->plan.steps.size(), ")");
  response->set_pinned_to(placed->pinned_to);
  if (placed->why == "pinned") {
    response->set_reason(sv1::WhereResourceResponse::REASON_PINNED);
    response->set_explanation(absl::StrCat(
        "pinned to ", placed->version, " (`pitstop unpin ", request->name(),
        " ", resource, "` lets it follow the active version)"));
  } else if (placed->why == "canary") {
    response->set_reason(sv1::WhereResourceResponse::REASON_CANARY);
    response->set_explanation(
        absl::StrCat("in the canary's ", Percent(c != nullptr ? c->percent : 0),
                     " share of ", placed->version, step));
  } else if (placed->why == "named") {
    response->set_reason(sv1::WhereResourceResponse::REASON_NAMED);
    response->set_explanation(
        absl::StrCat("named to the canary of ", placed->version, step));
  } else {
    response->set_reason(sv1::WhereResourceResponse::REASON_DEFAULT);
    response->set_explanation(
        c != nullptr && c->serving
            ? absl::StrCat("outside the canary's ", Percent(c->percent),
                           " share: the active version", step)
            : "the active version");
    if (!placed->pinned_to.empty()) {
      response->set_explanation(absl::StrCat(response->explanation(),
                                             "; pinned to ", placed->pinned_to,
                                             ", which runs nowhere now"));
    }
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::PinResource(grpc::ServerContext* context,
                                       const sv1::PinResourceRequest* request,
                                       sv1::Driver* response) {
  auto before = supervisor_.Get(request->name());
  if (!before.ok()) return ToGrpcStatus(before.status());
  NoteRequest(context, request->name(), before->state,
              absl::StrCat("pin ", request->resource().substr(0, 256), " to ",
                           request->version().substr(0, 64)));
  auto done =
      supervisor_.Pin(request->name(), request->resource(), request->version());
  if (!done.ok()) return ToGrpcStatus(done.status());
  auto after = supervisor_.Get(request->name());
  if (!after.ok()) return ToGrpcStatus(after.status());
  *response = ToProto(*after, "");
  return grpc::Status::OK;
}

grpc::Status AdminService::UnpinResource(
    grpc::ServerContext* context, const sv1::UnpinResourceRequest* request,
    sv1::Driver* response) {
  auto before = supervisor_.Get(request->name());
  if (!before.ok()) return ToGrpcStatus(before.status());
  NoteRequest(context, request->name(), before->state,
              absl::StrCat("unpin ", request->resource().substr(0, 256)));
  auto done = supervisor_.Unpin(request->name(), request->resource());
  if (!done.ok()) return ToGrpcStatus(done.status());
  auto after = supervisor_.Get(request->name());
  if (!after.ok()) return ToGrpcStatus(after.status());
  *response = ToProto(*after, "");
  return grpc::Status::OK;
}

}  // namespace pitstop
