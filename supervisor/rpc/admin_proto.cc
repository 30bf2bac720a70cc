#include "supervisor/rpc/admin_proto.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "supervisor/core/sandbox_policy.h"
#include "supervisor/rpc/admin_canary.h"
#include "supervisor/rpc/event_kind.h"

namespace pitstop {

namespace sv1 = pitstop::supervisor::v1;
namespace dv1 = pitstop::driver::v1;

namespace {

sv1::PropertyType ToProto(PropertyType t) {
  switch (t) {
    case PropertyType::kString:
      return sv1::PROPERTY_TYPE_STRING;
    case PropertyType::kNumber:
      return sv1::PROPERTY_TYPE_NUMBER;
    case PropertyType::kBoolean:
      return sv1::PROPERTY_TYPE_BOOLEAN;
    case PropertyType::kDate:
      return sv1::PROPERTY_TYPE_DATE;
  }
  return sv1::PROPERTY_TYPE_UNSPECIFIED;
}

dv1::PropertyValue ToProto(const PropertyScalar& v) {
  dv1::PropertyValue out;
  if (const auto* s = std::get_if<std::string>(&v)) {
    out.set_string_value(*s);
  } else if (const auto* d = std::get_if<Decimal>(&v)) {
    out.set_number_value(d->ToString());
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out.set_bool_value(*b);
  } else {
    out.set_date_value(std::get<IsoDate>(v).canonical);
  }
  return out;
}

void ToProto(const SandboxReport& sb, sv1::SandboxProtections* out) {
  out->set_mode(sb.mode.empty() ? "off" : sb.mode);
  for (const std::string& ns : sb.namespaces) out->add_namespaces(ns);
  out->set_private_root(sb.private_root);
  out->set_uid(sb.uid);
  out->set_gid(sb.gid);
  out->set_no_new_privs(sb.no_new_privs);
  out->set_capabilities_dropped(sb.capabilities_dropped);
  out->set_seccomp(sb.seccomp);
  out->set_cgroup(sb.cgroup);
  out->set_memory_limit_bytes(sb.memory_limit_bytes);
  out->set_pids_limit(sb.pids_limit);
  for (const std::string& r : sb.rlimits) out->add_rlimits(r);
  out->set_network(sb.network);
  for (const std::string& g : sb.gaps) out->add_gaps(g);
}

}  // namespace

dv1::Category ToProto(DriverCategory c) {
  switch (c) {
    case DriverCategory::kNetwork:
      return dv1::CATEGORY_NETWORK;
    case DriverCategory::kStorage:
      return dv1::CATEGORY_STORAGE;
    case DriverCategory::kHypervisor:
      return dv1::CATEGORY_HYPERVISOR;
  }
  return dv1::CATEGORY_UNSPECIFIED;
}

sv1::DriverState ToProto(DriverState s) {
  switch (s) {
    case DriverState::kStopped:
      return sv1::DRIVER_STATE_STOPPED;
    case DriverState::kStarting:
      return sv1::DRIVER_STATE_STARTING;
    case DriverState::kReady:
      return sv1::DRIVER_STATE_READY;
    case DriverState::kBackoff:
      return sv1::DRIVER_STATE_BACKOFF;
    case DriverState::kStopping:
      return sv1::DRIVER_STATE_STOPPING;
    case DriverState::kFailed:
      return sv1::DRIVER_STATE_FAILED;
    case DriverState::kDegraded:
      return sv1::DRIVER_STATE_DEGRADED;
  }
  return sv1::DRIVER_STATE_UNSPECIFIED;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1'000'000'000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  return ts;
}

sv1::Driver ToProto(const DriverStatus& status, const std::string& locale) {
  const DriverPackage& p = *status.package;
  const DriverManifest& m = p.manifest;
  sv1::Driver d;
  d.set_name(m.name);
  d.set_version(m.version.ToString());
  d.set_category(ToProto(m.category));
  d.set_state(ToProto(status.state));
  d.set_pid(status.pid);
  d.set_restarts(status.restarts);
  d.set_vendor(m.vendor);
  ToProto(status.sandbox, d.mutable_sandbox());
  for (const std::string& g : p.grants) d.add_grants(g);
  if (!m.description_key.empty()) {
    d.set_description(p.messages.Lookup(m.description_key, locale));
  }
  for (const std::string& t : m.resource_types) d.add_resource_types(t);
  for (const PropertySpec& spec : m.properties) {
    sv1::PropertySchema* s = d.add_properties();
    s->set_key(spec.key);
    s->set_label_key(spec.label_key);
    s->set_description_key(spec.description_key);
    s->set_type(ToProto(spec.type));
    s->set_required(spec.required);
    s->set_max_length(spec.max_length.value_or(0));
    s->set_secret(spec.secret);
    if (spec.default_value) {
      *s->mutable_default_value() = ToProto(*spec.default_value);
      if (spec.secret) s->mutable_default_value()->set_string_value("***");
    }
    for (const PropertyScalar& v : spec.allowed_values) {
      *s->add_allowed_values() = ToProto(v);
    }
    if (spec.minimum) s->set_minimum(spec.minimum->ToString());
    if (spec.maximum) s->set_maximum(spec.maximum->ToString());
    if (!spec.label_key.empty()) {
      s->set_label(p.messages.Lookup(spec.label_key, locale));
    }
    if (!spec.description_key.empty()) {
      s->set_description(p.messages.Lookup(spec.description_key, locale));
    }
  }
  *d.mutable_state_since() = ToTimestamp(status.state_since);
  d.set_last_exit(status.last_exit);
  d.set_install_dir(p.install_dir);
  d.set_socket_path(status.socket_path);
  for (const std::string& v : m.protocol) d.add_protocol_versions(v);
  for (const std::string& c : m.capabilities) d.add_capabilities(c);
  d.set_message(status.message);
  d.set_allow_unknown_properties(m.allow_unknown_properties);
  d.set_locale(locale);
  d.set_signer(p.signer);
  d.set_entrypoint_sha256(p.entrypoint_sha256);
  d.set_car_path(p.car_path);
  for (const InstanceStatus& i : status.instances) {
    sv1::Instance* out = d.add_instances();
    out->set_id(i.id);
    out->set_pid(i.pid);
    out->set_version(i.version);
    out->set_role(i.role);
    out->set_calls_in_flight(i.calls_in_flight);
    ToProto(i.sandbox, out->mutable_sandbox());
  }
  for (const std::string& v : status.installed_versions) {
    d.add_installed_versions(v);
  }
  d.set_previous_version(status.previous_version);
  d.set_upgrade(status.upgrade);
  d.set_resources_pending(static_cast<uint32_t>(status.resources_pending));
  for (const auto& [resource, version] : status.pins) {
    sv1::Pin* pin = d.add_pins();
    pin->set_resource(resource);
    pin->set_version(version);
  }
  if (status.canary) {
    *d.mutable_canary() =
        ToProto(*status.canary, status.upgrade_from, status.upgrade_to);
  }
  return d;
}

namespace {

dv1::Category CategoryFromName(const std::string& name) {
  if (name == "network") return dv1::CATEGORY_NETWORK;
  if (name == "storage") return dv1::CATEGORY_STORAGE;
  if (name == "hypervisor") return dv1::CATEGORY_HYPERVISOR;
  return dv1::CATEGORY_UNSPECIFIED;
}

}  // namespace

sv1::Event ToProto(const DriverEvent& e) {
  sv1::Event out;
  out.set_sequence(e.sequence);
  *out.mutable_time() = ToTimestamp(e.time);
  out.set_driver(e.driver);
  out.set_kind(e.kind);
  out.set_kind_code(EventKindFromString(e.kind));
  if (e.kind == "state") {
    out.set_from(ToProto(e.from));
    out.set_to(ToProto(e.to));
  }
  out.set_reason(e.reason);
  out.set_pid(e.pid);
  return out;
}

sv1::Repository ToProto(const RepositoryStatus& r) {
  sv1::Repository out;
  out.set_name(r.name);
  out.set_url(r.url);
  out.set_source(r.from_config ? "config" : "operator");
  if (r.index) {
    out.set_index_version(r.index->version);
    *out.mutable_index_expires() = ToTimestamp(r.index->expires);
    for (const IndexEntry& e : r.index->entries) {
      sv1::RepositoryCar* car = out.add_cars();
      car->set_name(e.name);
      car->set_version(e.version.ToString());
      car->set_category(CategoryFromName(e.category));
      car->set_length(e.length);
      car->set_sha256(e.sha256);
      car->set_path(e.path);
      car->set_signer(e.signer);
    }
  }
  out.set_index_signer(r.index_signer);
  if (r.last_refresh != absl::InfinitePast()) {
    *out.mutable_last_refresh() = ToTimestamp(r.last_refresh);
  }
  out.set_error(r.last_error);
  return out;
}

}  // namespace pitstop
