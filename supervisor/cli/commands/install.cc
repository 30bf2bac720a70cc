// `pitstop install` (a CAR file, or NAME[@VERSION] from the daemon's
// repositories) and `pitstop remove`.

#include <filesystem>

#include "absl/strings/str_join.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"
#include "supervisor/cli/read_file.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
using Stub = AdminClient::Stub;

std::string SignerText(const sv1::Driver& d) {
  return d.signer().empty() ? "unsigned" : "signed by " + d.signer();
}

// A name, not a file: no such file, no '/', no ".car".
bool IsRepositorySpec(const std::string& arg) {
  std::error_code ec;
  return !std::filesystem::exists(arg, ec) &&
         arg.find('/') == std::string::npos &&
         (arg.size() < 4 || arg.substr(arg.size() - 4) != ".car");
}

// The version a CAR holds, to tell an install beside the active version;
// "" when it cannot be read (the daemon then says why).
std::string CarVersion(const std::string& car) {
  auto yaml = ReadCarEntry(car, "META-INF/driver.yaml");
  if (!yaml.ok()) return "";
  auto m = ParseDriverManifest(*yaml, car);
  return m.ok() ? m->version.ToString() : "";
}

class InstallCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("FILE", car_,
                   "the CAR, or NAME[@VERSION|@RANGE] from a repository")
        ->required();
    cmd.add_flag("--no-start", no_start_, "install without starting it");
    cmd.add_option("--grant", grants_,
                   "grant a permission the driver asks for "
                   "(network=outbound)");
  }

  int Run(const CommandContext& c) override {
    return IsRepositorySpec(car_) ? FromRepository(c) : FromFile(c);
  }

 private:
  int FromRepository(const CommandContext& c) const {
    sv1::InstallFromRepositoryRequest request;
    const size_t at = car_.find('@');
    request.set_name(car_.substr(0, at));
    if (at != std::string::npos) request.set_version(car_.substr(at + 1));
    request.set_start(!no_start_);
    for (const std::string& g : grants_) request.add_grants(g);
    AdminClient client(c.global);
    sv1::Driver d;
    if (!client.Call(&Stub::InstallFromRepository, request, &d)) {
      return kExitFailure;
    }
    std::ostream& out = c.output.out();
    if (c.output.json()) {
      c.output.Json(DriverToJson(d));
    } else if (d.installed_versions_size() > 1) {
      // A new version of an installed driver goes beside the active one.
      out << "installed " << d.name() << " from a repository beside the "
          << "active " << d.version()
          << " (installed: " << absl::StrJoin(d.installed_versions(), ", ")
          << "); switch with `pitstop upgrade " << d.name()
          << " --to VERSION`\n";
    } else {
      out << "installed " << d.name() << " " << d.version()
          << " from a repository (" << SignerText(d)
          << "): " << StateName(d.state()) << "\n";
    }
    return 0;
  }

  int FromFile(const CommandContext& c) const {
    auto bytes = ReadFileBytes(car_);
    if (!bytes.ok()) return Error(bytes.status().message());
    const std::string version = CarVersion(car_);
    sv1::InstallDriverRequest request;
    request.set_car(*std::move(bytes));
    request.set_start(!no_start_);
    for (const std::string& g : grants_) request.add_grants(g);
    AdminClient client(c.global);
    sv1::Driver d;
    if (!client.Call(&Stub::InstallDriver, request, &d)) return kExitFailure;
    std::ostream& out = c.output.out();
    if (c.output.json()) {
      c.output.Json(DriverToJson(d));
    } else if (!version.empty() && version != d.version()) {
      out << "installed " << d.name() << " " << version << " beside the active "
          << d.version() << "; switch to it with `pitstop upgrade " << d.name()
          << " --to " << version << "`\n";
    } else {
      out << "installed " << d.name() << " " << d.version() << " ("
          << SignerText(d) << "): " << StateName(d.state()) << "\n";
    }
    return 0;
  }

  std::string car_;
  bool no_start_ = false;
  std::vector<std::string> grants_;
};

class RemoveCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "driver name")->required();
    cmd.add_option("--version", version_,
                   "remove only this installed, inactive version");
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    sv1::RemoveDriverRequest request;
    request.set_name(name_);
    request.set_version(version_);
    sv1::RemoveDriverResponse response;
    if (!client.Call(&Stub::RemoveDriver, request, &response)) {
      return kExitFailure;
    }
    c.output.out() << "removed " << response.name() << " "
                   << absl::StrJoin(response.versions(), ", ") << "\n";
    return 0;
  }

 private:
  std::string name_;
  std::string version_;
};

}  // namespace

std::vector<CommandSpec> InstallCommands() {
  return {
      {"", "install",
       "install a CAR file, or NAME[@VERSION] from the daemon's repositories, "
       "into the running daemon and start it",
       TakesOutput::kYes, Make<InstallCommand>()},
      {"", "remove",
       "stop a driver and remove its CARs and files, or one inactive version",
       TakesOutput::kNo, Make<RemoveCommand>()},
  };
}

}  // namespace pitstop
