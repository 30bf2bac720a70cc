// `pitstop car pack|sign|inspect|verify`: driver archives, locally.

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_signature.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/car/driver_manifest.h"
#include "supervisor/cli/commands/commands.h"

namespace pitstop {
namespace {

namespace pb = google::protobuf;

constexpr char kDefaultTrust[] = "/etc/pitstop/trust";

class PackCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("DIR", dir_, "directory with META-INF/driver.yaml and bin/")
        ->required();
    cmd.add_option("-o,--output", out_, "the CAR file to write")->required();
  }

  int Run(const CommandContext& c) override {
    absl::Status s = PackCar(dir_, out_);
    if (!s.ok()) return Error(s.message());
    c.output.out() << "packed " << out_ << "\n";
    return 0;
  }

 private:
  std::string dir_;
  std::string out_;
};

class SignCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("FILE", car_, "the CAR")->required();
    cmd.add_option("--key", key_, "PEM private key (EC or RSA)")->required();
    cmd.add_option("--cert", cert_, "PEM code-signing certificate")->required();
    cmd.add_option("--chain", chain_, "PEM intermediate certificates");
    cmd.add_option("-o,--output", out_, "write here (default: in place)");
  }

  int Run(const CommandContext& c) override {
    const std::string out = out_.empty() ? car_ : out_;
    absl::Status s = SignCar(car_, out, key_, cert_, chain_);
    if (!s.ok()) return Error(s.message());
    c.output.out() << "signed " << out << "\n";
    return 0;
  }

 private:
  std::string car_, key_, cert_, chain_, out_;
};

class InspectCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("FILE", car_, "the CAR")->required();
    cmd.add_option("--trust", trust_,
                   "check the signature against these trusted roots");
  }

  int Run(const CommandContext& c) override {
    auto files = ReadCarFiles(car_);
    if (!files.ok()) return Error(files.status().message());
    std::string yaml;
    for (const CarFile& f : *files) {
      if (f.name == "META-INF/driver.yaml") yaml = f.content;
    }
    auto manifest =
        ParseDriverManifest(yaml, absl::StrCat(car_, "!META-INF/driver.yaml"));
    absl::StatusOr<CarSigner> signer =
        trust_.empty()
            ? absl::FailedPreconditionError("no --trust directory given")
            : VerifyCar(car_, trust_);
    if (c.output.json()) {
      c.output.Json(InspectJson(*files, manifest, signer));
      return signer.ok() || trust_.empty() ? 0 : 1;
    }
    PrintInspect(*files, manifest, signer, c.output);
    return manifest.ok() && (signer.ok() || trust_.empty()) ? 0 : 1;
  }

 private:
  pb::Value InspectJson(const std::vector<CarFile>& files,
                        const absl::StatusOr<DriverManifest>& manifest,
                        const absl::StatusOr<CarSigner>& signer) const {
    pb::Value v;
    auto& f = *v.mutable_struct_value()->mutable_fields();
    f["car"].set_string_value(car_);
    if (manifest.ok()) {
      f["name"].set_string_value(manifest->name);
      f["version"].set_string_value(manifest->version.ToString());
      f["category"].set_string_value(
          std::string(CategoryName(manifest->category)));
      f["entrypoint"].set_string_value(manifest->entrypoint);
    } else {
      f["driver_yaml_error"].set_string_value(
          std::string(manifest.status().message()));
    }
    auto* list = f["files"].mutable_list_value();
    for (const CarFile& file : files) {
      pb::Value e;
      auto& ef = *e.mutable_struct_value()->mutable_fields();
      ef["name"].set_string_value(file.name);
      ef["bytes"].set_number_value(static_cast<double>(file.content.size()));
      *list->add_values() = e;
    }
    f["signature"].set_string_value(
        signer.ok() ? "verified" : std::string(signer.status().message()));
    if (signer.ok()) f["signer"].set_string_value(signer->subject);
    return v;
  }

  void PrintInspect(const std::vector<CarFile>& files,
                    const absl::StatusOr<DriverManifest>& manifest,
                    const absl::StatusOr<CarSigner>& signer,
                    const Output& output) const {
    std::ostream& out = output.out();
    out << car_ << "\n";
    if (manifest.ok()) {
      out << "  driver:     " << manifest->name << " "
          << manifest->version.ToString() << " ("
          << CategoryName(manifest->category) << ")\n"
          << "  entrypoint: " << manifest->entrypoint << "\n"
          << "  properties: " << manifest->properties.size() << "\n";
    } else {
      out << "  driver.yaml: INVALID: " << manifest.status().message() << "\n";
    }
    out << "  files:\n";
    std::vector<std::vector<std::string>> rows;
    for (const CarFile& file : files) {
      rows.push_back(
          {"    " + file.name, absl::StrCat(file.content.size(), " bytes")});
    }
    output.Table(rows);
    if (signer.ok()) {
      out << "  signature:  verified, signed by " << signer->subject << "\n";
    } else {
      out << "  signature:  " << signer.status().message() << "\n";
    }
  }

  std::string car_;
  std::string trust_;
};

class VerifyCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("FILE", car_, "the CAR")->required();
    cmd.add_option("--trust", trust_,
                   "directory of trusted root certificates (*.pem, *.crt)");
  }

  int Run(const CommandContext& c) override {
    auto signer = VerifyCar(car_, trust_);
    if (!signer.ok()) return Error(signer.status().message());
    // A good signature over a driver that cannot install is no use either.
    auto yaml = ReadCarEntry(car_, "META-INF/driver.yaml");
    if (!yaml.ok()) return Error(yaml.status().message());
    auto manifest =
        ParseDriverManifest(*yaml, absl::StrCat(car_, "!META-INF/driver.yaml"));
    if (!manifest.ok()) return Error(manifest.status().message());
    if (auto exe = ReadCarEntry(car_, manifest->entrypoint, 1ull << 40);
        !exe.ok()) {
      return Error(absl::StrCat(car_, ": the entrypoint ", manifest->entrypoint,
                                " is not in the CAR"));
    }
    c.output.out() << car_ << ": verified\n"
                   << "  signer:      " << signer->subject << "\n"
                   << "  issuer:      " << signer->issuer << "\n"
                   << "  valid until: "
                   << absl::FormatTime("%Y-%m-%d", signer->not_after,
                                       absl::UTCTimeZone())
                   << "\n"
                   << "  certificate: sha256 " << signer->certificate_sha256
                   << "\n";
    return 0;
  }

 private:
  std::string car_;
  std::string trust_ = kDefaultTrust;
};

}  // namespace

std::vector<CommandSpec> CarCommands() {
  return {
      {"", "car", "work with driver archives", TakesOutput::kNo, nullptr},
      {"car", "pack", "pack a driver directory into a CAR", TakesOutput::kNo,
       Make<PackCommand>()},
      {"car", "sign",
       "sign a CAR the way jarsigner does (MANIFEST.MF, .SF, CMS block)",
       TakesOutput::kNo, Make<SignCommand>()},
      {"car", "inspect",
       "show a CAR's driver.yaml summary, files and signature",
       TakesOutput::kYes, Make<InspectCommand>()},
      {"car", "verify", "check a CAR's signature against trusted roots",
       TakesOutput::kNo, Make<VerifyCommand>()},
  };
}

}  // namespace pitstop
