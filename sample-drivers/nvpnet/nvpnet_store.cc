#include "nvpnet_store.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pitstop/sdk/records.h"
#include "pitstop/sdk/status.h"

namespace pitstop::nvpnet {
namespace {

constexpr sdk::RecordFormat kFormat = {"nvpnet state", "nvpnet-state", "1"};

absl::StatusOr<SwitchRecord*> SwitchOf(const sdk::Record& r,
                                       ControllerState& state) {
  auto it = state.switches.find(r.Str(1));
  if (it == state.switches.end()) {
    return r.Error(absl::StrCat(r.kind(), " of an unknown network"));
  }
  return &it->second;
}

absl::Status ParseRecord(const sdk::Record& r, ControllerState& state) {
  const std::string& kind = r.kind();
  if (kind == "switch") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(11));
    SwitchRecord s;
    s.network_id = r.Str(1);
    s.switch_id = r.Str(2);
    s.cidr = r.Str(3);
    s.gateway = r.Str(4);
    s.broadcast_uri = r.Str(5);
    s.guest_type = r.Str(6);
    s.zone = r.Str(7);
    s.transport_zone = r.Str(8);
    PITSTOP_RETURN_IF_ERROR(r.Bool(9, &s.up));
    PITSTOP_RETURN_IF_ERROR(r.Uint(10, &s.rules_generation));
    state.switches[s.network_id] = std::move(s);
    return absl::OkStatus();
  }
  if (kind == "port") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(8));
    absl::StatusOr<SwitchRecord*> s = SwitchOf(r, state);
    if (!s.ok()) return s.status();
    PortRecord p{r.Str(2), r.Str(3), r.Str(4), r.Str(5), r.Str(6), r.Str(7)};
    (*s)->ports[p.nic_id] = std::move(p);
    return absl::OkStatus();
  }
  if (kind == "ip") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(7));
    absl::StatusOr<SwitchRecord*> s = SwitchOf(r, state);
    if (!s.ok()) return s.status();
    PublicIpRecord ip{r.Str(2), r.Str(3), r.Str(4), r.Str(5)};
    PITSTOP_RETURN_IF_ERROR(r.Bool(6, &ip.source_nat));
    (*s)->ips[ip.ip] = std::move(ip);
    return absl::OkStatus();
  }
  if (kind == "rule") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(3));
    absl::StatusOr<SwitchRecord*> s = SwitchOf(r, state);
    if (!s.ok()) return s.status();
    pitstop::driver::v1::Rule rule;
    if (!rule.ParseFromString(r.Str(2))) return r.Error("corrupt rule");
    (*s)->rules.push_back(std::move(rule));
    return absl::OkStatus();
  }
  if (kind == "operations") {
    PITSTOP_RETURN_IF_ERROR(r.Expect(2));
    absl::StatusOr<sdk::OperationLog> log = sdk::OperationLog::Parse(r.Str(1));
    if (!log.ok()) return log.status();
    state.operations = *std::move(log);
    return absl::OkStatus();
  }
  return r.Error(absl::StrCat("unknown record '", kind, "'"));
}

}  // namespace

std::string SerializeControllerState(const ControllerState& state) {
  sdk::RecordWriter w(kFormat);
  for (const auto& [id, s] : state.switches) {
    w.Add("switch", s.network_id, s.switch_id, s.cidr, s.gateway,
          s.broadcast_uri, s.guest_type, s.zone, s.transport_zone, s.up,
          s.rules_generation);
    for (const auto& [nic_id, p] : s.ports) {
      w.Add("port", s.network_id, p.nic_id, p.port_id, p.mac, p.ip, p.vm_id,
            p.vm_name);
    }
    for (const auto& [ip_text, ip] : s.ips) {
      w.Add("ip", s.network_id, ip.ip, ip.cidr, ip.vlan, ip.gateway,
            ip.source_nat);
    }
    for (const pitstop::driver::v1::Rule& rule : s.rules) {
      w.Add("rule", s.network_id, rule.SerializeAsString());
    }
  }
  w.Add("operations", state.operations.Serialize());
  return w.Take();
}

absl::StatusOr<ControllerState> ParseControllerState(absl::string_view text) {
  ControllerState state;
  PITSTOP_RETURN_IF_ERROR(sdk::ParseRecords(
      text, kFormat,
      [&](const sdk::Record& r) { return ParseRecord(r, state); }));
  return state;
}

absl::StatusOr<std::unique_ptr<NvpnetStore>> OpenNvpnetStore(
    const std::string& dir) {
  return NvpnetStore::Open(dir, "controller.state",
                           {&SerializeControllerState, &ParseControllerState});
}

}  // namespace pitstop::nvpnet
