// `pitstop packages`, `order` and `events`: what is installed, in which
// order it starts, and what happened.

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace pb = google::protobuf;
using Stub = AdminClient::Stub;

// Every installed version of `d`, the active one included.
std::vector<std::string> InstalledVersions(const sv1::Driver& d) {
  std::vector<std::string> versions(d.installed_versions().begin(),
                                    d.installed_versions().end());
  if (std::find(versions.begin(), versions.end(), d.version()) ==
      versions.end()) {
    versions.insert(versions.begin(), d.version());
  }
  return versions;
}

pb::Value PackageJson(const sv1::Driver& d) {
  pb::Value e;
  auto& f = *e.mutable_struct_value()->mutable_fields();
  f["name"].set_string_value(d.name());
  f["version"].set_string_value(d.version());
  f["signer"].set_string_value(d.signer());
  f["entrypoint_sha256"].set_string_value(d.entrypoint_sha256());
  f["car"].set_string_value(d.car_path());
  auto* installed = f["installed_versions"].mutable_list_value();
  for (const std::string& v : InstalledVersions(d)) {
    installed->add_values()->set_string_value(v);
  }
  return e;
}

// One row per installed version; the signer, digest and CAR the daemon
// reports are the active version's.
std::vector<std::vector<std::string>> PackageRows(
    const sv1::ListDriversResponse& list) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "SIGNER", "ENTRYPOINT SHA-256", "CAR", "ACTIVE"}};
  for (const auto& d : list.drivers()) {
    for (const std::string& v : InstalledVersions(d)) {
      if (v != d.version()) {
        rows.push_back({d.name(), v, "-", "-", "-", "no"});
        continue;
      }
      rows.push_back({d.name(), d.version(),
                      d.signer().empty() ? "(unsigned)" : d.signer(),
                      d.entrypoint_sha256().substr(0, 16) + "...", d.car_path(),
                      "yes"});
    }
  }
  return rows;
}

class PackagesCommand : public Command {
 public:
  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::ListDriversResponse list;
    if (!client.Call(&Stub::ListDrivers, {}, &list)) return kExitFailure;
    if (!c.output.json()) {
      c.output.Table(PackageRows(list));
      return 0;
    }
    pb::Value v;
    v.mutable_list_value();
    for (const auto& d : list.drivers()) {
      *v.mutable_list_value()->add_values() = PackageJson(d);
    }
    c.output.Json(v);
    return 0;
  }
};

pb::Value OrderEntryJson(const sv1::StartOrderEntry& e) {
  pb::Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["name"].set_string_value(e.name());
  f["category"].set_string_value(CategoryLabel(e.category()));
  f["level"].set_number_value(e.level());
  auto* reqs = f["requires"].mutable_list_value();
  for (const auto& r : e.requires()) reqs->add_values()->set_string_value(r);
  f["startable"].set_bool_value(e.startable());
  f["reason"].set_string_value(e.reason());
  return v;
}

class OrderCommand : public Command {
 public:
  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::GetStartOrderResponse response;
    if (!client.Call(&Stub::GetStartOrder, {}, &response)) return kExitFailure;
    if (c.output.json()) {
      pb::Value list;
      list.mutable_list_value();
      for (const auto& e : response.drivers()) {
        *list.mutable_list_value()->add_values() = OrderEntryJson(e);
      }
      c.output.Json(list);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"#", "NAME", "CATEGORY", "REQUIRES", "WHY"}};
    int n = 0;
    for (const auto& e : response.drivers()) {
      rows.push_back(
          {e.startable() ? std::to_string(++n) : "-", e.name(),
           CategoryLabel(e.category()),
           e.requires().empty() ? "-" : absl::StrJoin(e.requires(), ","),
           e.reason()});
    }
    c.output.Table(rows);
    c.output.out() << "Drivers stop in exactly the reverse order.\n";
    return 0;
  }
};

void PrintEvent(const sv1::Event& e, std::ostream& out) {
  std::string what =
      e.kind_code() == sv1::EVENT_KIND_STATE
          ? absl::StrCat(StateName(e.from()), " -> ", StateName(e.to()))
          : e.kind();
  out << "#" << e.sequence() << "  " << pb::util::TimeUtil::ToString(e.time())
      << "  " << e.driver() << "  " << what;
  if (e.pid()) out << "  pid " << e.pid();
  if (!e.reason().empty()) out << "  " << e.reason();
  out << std::endl;
}

class EventsCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_flag("--follow,-f", follow_, "keep printing new events");
    cmd.add_option("--driver", driver_, "only this driver's events");
    cmd.add_option("--after", after_,
                   "only events after this sequence number (the SEQ column; "
                   "to resume where you stopped)");
    cmd.add_flag("--new", from_now_,
                 "skip the events so far: with --follow, only new ones");
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    grpc::ClientContext ctx;
    if (!follow_) client.SetDeadline(ctx);
    sv1::WatchEventsRequest request;
    request.set_follow(follow_);
    request.set_driver(driver_);
    request.set_since_sequence(after_);
    request.set_from_now(from_now_);
    auto reader = client.stub().WatchEvents(&ctx, request);
    sv1::Event e;
    while (reader->Read(&e)) {
      if (c.output.json()) {
        c.output.MessageLine(e);
      } else {
        PrintEvent(e, c.output.out());
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
      return client.Fail(s);
    }
    return 0;
  }

 private:
  bool follow_ = false;
  bool from_now_ = false;
  uint64_t after_ = 0;
  std::string driver_;
};

}  // namespace

std::vector<CommandSpec> StatusCommands() {
  return {
      {"", "packages",
       "installed drivers: every installed version, the active one's signer, "
       "digest and CAR",
       TakesOutput::kYes, Make<PackagesCommand>()},
      {"", "order", "the computed start order and why (stop is the reverse)",
       TakesOutput::kYes, Make<OrderCommand>()},
      {"", "events",
       "recent state transitions and actions; --follow for live ones",
       TakesOutput::kYes, Make<EventsCommand>()},
  };
}

}  // namespace pitstop
