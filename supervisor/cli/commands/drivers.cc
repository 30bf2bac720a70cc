// `pitstop drivers`, `describe` and `validate`: what the daemon runs.

#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"
#include "supervisor/cli/driver_text.h"
#include "supervisor/cli/property_args.h"
#include "supervisor/cli/stats_text.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
using Stub = AdminClient::Stub;

std::vector<std::vector<std::string>> DriverRows(
    const sv1::ListDriversResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "VERSION", "CATEGORY", "STATE", "PID", "RESTARTS", "MESSAGE"}};
  for (const auto& d : response.drivers()) {
    rows.push_back({d.name(), d.version(), CategoryLabel(d.category()),
                    StateName(d.state()), PidText(d),
                    std::to_string(d.restarts()), d.message()});
    if (d.instances_size() <= 1) continue;
    // During an upgrade or a graceful restart: each process on its row.
    for (const auto& i : d.instances()) {
      rows.push_back({"  instance", i.version(), "", i.role(),
                      i.pid() ? std::to_string(i.pid()) : "-", "",
                      absl::StrCat(i.calls_in_flight(), " calls in flight")});
    }
  }
  return rows;
}

class DriversCommand : public Command {
 public:
  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::ListDriversResponse response;
    if (!client.Call(&Stub::ListDrivers, {}, &response)) return kExitFailure;
    if (!c.output.json()) {
      c.output.Table(DriverRows(response));
      return 0;
    }
    google::protobuf::Value list;
    list.mutable_list_value();
    for (const auto& d : response.drivers()) {
      *list.mutable_list_value()->add_values() = DriverToJson(d);
    }
    c.output.Json(list);
    return 0;
  }
};

class DescribeCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    cmd.add_option("--locale", locale_,
                   "show labels in this locale, e.g. de or pt_BR");
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::GetDriverRequest request;
    request.set_name(name_);
    request.set_locale(locale_);
    sv1::Driver d;
    if (!client.Call(&Stub::GetDriver, request, &d)) return kExitFailure;
    // The figures, when the daemon has them (one older than GetDriverStats
    // answers UNIMPLEMENTED: the driver is shown without them).
    sv1::GetDriverStatsRequest stats_request;
    stats_request.set_name(name_);
    sv1::GetDriverStatsResponse stats;
    const bool have_stats =
        client.TryCall(&Stub::GetDriverStats, stats_request, &stats).ok() &&
        stats.drivers_size() == 1;
    if (c.output.json()) {
      google::protobuf::Value value = DriverToJson(d);
      if (have_stats) {
        google::protobuf::Value calls;
        if (google::protobuf::util::JsonStringToMessage(
                MessageJson(stats.drivers(0), JsonLayout::kOneLine), &calls)
                .ok()) {
          (*value.mutable_struct_value()->mutable_fields())["calls"] = calls;
        }
      }
      c.output.Json(value);
    } else {
      PrintDriver(d, c.output.out());
      if (have_stats) {
        PrintStats(stats.drivers(0), stats.counting(), c.output.out());
      }
    }
    return 0;
  }

 private:
  std::string name_;
  std::string locale_;
};

class ValidateCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    cmd.add_option("--prop", props_,
                   "a property of the bag: KEY=VALUE (repeatable)");
  }

  int Run(const CommandContext& c) override {
    sv1::ValidatePropertiesRequest request;
    request.set_name(name_);
    if (auto s = ParseProperties(props_, request.mutable_properties());
        !s.ok()) {
      return Error(s.message());
    }
    AdminClient client(c.global);
    sv1::ValidatePropertiesResponse response;
    if (!client.Call(&Stub::ValidateProperties, request, &response)) {
      return kExitFailure;
    }
    if (c.output.json()) {
      c.output.Message(response);
    } else if (response.valid()) {
      PrintValid(response, c.output);
    }
    if (response.valid()) return 0;
    if (!c.output.json()) {
      for (const auto& v : response.violations()) {
        std::cerr << "pitstop: " << v.message() << "\n";
      }
    }
    const int n = response.violations_size();
    return Error(absl::StrCat("the property bag is not valid for ", name_, " (",
                              n, " problem", n == 1 ? "" : "s", ")"));
  }

 private:
  void PrintValid(const sv1::ValidatePropertiesResponse& response,
                  const Output& output) const {
    output.out() << "valid; driver " << name_ << " would receive:\n";
    std::vector<std::vector<std::string>> rows = {{"  KEY", "VALUE"}};
    std::map<std::string, std::string> sorted;
    for (const auto& [key, value] : response.properties()) {
      sorted[key] = PropertyValueText(value);
    }
    for (const auto& [key, value] : sorted) rows.push_back({"  " + key, value});
    output.Table(rows);
  }

  std::string name_;
  std::vector<std::string> props_;
};

}  // namespace

std::vector<CommandSpec> DriversCommands() {
  return {
      {"", "drivers", "list the drivers", TakesOutput::kYes,
       Make<DriversCommand>()},
      {"", "describe", "show one driver", TakesOutput::kYes,
       Make<DescribeCommand>()},
      {"", "validate",
       "check a property bag against a driver's schema without calling the "
       "driver",
       TakesOutput::kYes, Make<ValidateCommand>()},
  };
}

}  // namespace pitstop
