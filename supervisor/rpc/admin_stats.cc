// AdminService::GetDriverStats: the call figures of CallHistory with each
// version's processes (ReadProcessUsage), per driver.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/metrics/process_metrics.h"
#include "supervisor/rpc/admin_proto.h"
#include "supervisor/rpc/admin_service.h"
#include "supervisor/rpc/status_conversion.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;

constexpr int kDefaultWindowSeconds = 10;
constexpr int kMaxWindowSeconds = 300;

sv1::VersionStats* VersionIn(sv1::DriverStats& d, const std::string& v) {
  for (sv1::VersionStats& s : *d.mutable_versions()) {
    if (s.version() == v) return &s;
  }
  sv1::VersionStats* s = d.add_versions();
  s->set_version(v);
  return s;
}

void SetFigures(const CallFigures& f, sv1::VersionStats* out) {
  out->set_window_seconds(absl::ToDoubleSeconds(f.span));
  out->set_calls_per_second(f.calls_per_second);
  out->set_error_rate(f.error_rate);
  out->set_p50_seconds(f.p50_seconds);
  out->set_p99_seconds(f.p99_seconds);
  out->set_calls_total(f.calls_total);
  out->set_driver_errors_total(f.driver_errors_total);
}

void AddProcesses(const DriverStatus& status, sv1::DriverStats& out) {
  for (const InstanceStatus& i : status.instances) {
    sv1::VersionStats* v = VersionIn(out, i.version);
    v->set_calls_in_flight(v->calls_in_flight() + i.calls_in_flight);
    if (i.pid == 0) continue;
    const ProcessUsage u = ReadProcessUsage(i.pid);
    if (!u.found) continue;
    v->set_processes(v->processes() + 1);
    v->set_memory_bytes(v->memory_bytes() +
                        static_cast<uint64_t>(u.memory_bytes));
    v->set_cpu_seconds(v->cpu_seconds() + u.cpu_seconds);
  }
}

}  // namespace

grpc::Status AdminService::GetDriverStats(
    grpc::ServerContext*, const sv1::GetDriverStatsRequest* request,
    sv1::GetDriverStatsResponse* response) {
  const int window = request->window_seconds() == 0 ? kDefaultWindowSeconds
                                                    : request->window_seconds();
  if (window < 1 || window > kMaxWindowSeconds) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("window_seconds must be 1 to ", kMaxWindowSeconds,
                     " (pitstopd keeps ", kMaxWindowSeconds,
                     " seconds of figures); got ", request->window_seconds()));
  }
  std::vector<DriverStatus> drivers;
  if (request->name().empty()) {
    drivers = supervisor_.List();
  } else {
    auto status = supervisor_.Get(request->name());
    if (!status.ok()) return ToGrpcStatus(status.status());
    drivers.push_back(*std::move(status));
  }
  response->set_counting(history_ != nullptr);
  std::vector<CallFigures> figures;
  if (history_ != nullptr) {
    figures = history_->Over(absl::Now(), absl::Seconds(window));
  }
  for (const DriverStatus& status : drivers) {
    const std::string& name = status.package->manifest.name;
    sv1::DriverStats* d = response->add_drivers();
    d->set_name(name);
    d->set_calls_waiting(static_cast<uint32_t>(status.calls_waiting));
    for (const CallFigures& f : figures) {
      if (f.driver == name) SetFigures(f, VersionIn(*d, f.version));
    }
    AddProcesses(status, *d);
    if (!request->series() || history_ == nullptr) continue;
    for (const CallHistory::Point& p :
         history_->Series(name, absl::Seconds(window))) {
      for (const CallFigures& f : p.versions) {
        sv1::StatsPoint* point = VersionIn(*d, f.version)->add_points();
        *point->mutable_time() = ToTimestamp(p.at);
        point->set_calls_per_second(f.calls_per_second);
        point->set_error_rate(f.error_rate);
        point->set_p50_seconds(f.p50_seconds);
        point->set_p99_seconds(f.p99_seconds);
      }
    }
  }
  return grpc::Status::OK;
}

}  // namespace pitstop
