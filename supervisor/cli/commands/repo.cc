// `pitstop repo build|verify|mirror` (a repository's files, locally),
// `repo add|remove|list` (the daemon's list) and `pitstop updates`.

#include <google/protobuf/util/time_util.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "absl/time/clock.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"
#include "supervisor/repo/repository_tools.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
using Stub = AdminClient::Stub;

constexpr char kDefaultTrust[] = "/etc/pitstop/trust";
constexpr char kTrustHelp[] =
    "directory of trusted root certificates (*.pem, *.crt)";

std::string TimeText(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 ? "-" : google::protobuf::util::TimeUtil::ToString(t);
}

std::string UtcText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

FetchOptions CliFetchOptions(const std::string& trust) {
  FetchOptions f;
  f.trust_dir = trust;
  return f;
}

class RepoBuildCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("DIR", dir_, "the repository's directory")->required();
    cmd.add_option("--key", options_.key_path,
                   "PEM private key of the repository signing certificate")
        ->required();
    cmd.add_option("--cert", options_.cert_path,
                   "PEM certificate issued under the project's root")
        ->required();
    cmd.add_option("--chain", options_.chain_path,
                   "PEM intermediate certificates");
    cmd.add_option("--expires", expires_,
                   "how long the index is valid, e.g. 30d, 12h (default 30d)");
    cmd.add_option("--version", options_.version,
                   "the index version (default: one more than the current)");
  }

  int Run(const CommandContext& c) override {
    BuildOptions o = options_;
    auto validity = ParseValidity(expires_);
    if (!validity.ok()) return Error(validity.status().message());
    o.valid_for = *validity;
    auto index = BuildRepository(dir_, o, absl::Now());
    if (!index.ok()) return Error(index.status().message());
    std::ostream& out = c.output.out();
    out << "wrote " << dir_ << "/" << kIndexFile << " (version "
        << index->version << ", " << index->entries.size() << " CARs, expires "
        << UtcText(index->expires) << ") and " << kIndexSignatureFile << "\n";
    for (const IndexEntry& e : index->entries) {
      out << "  " << e.name << " " << e.version.ToString() << "  " << e.path
          << "  " << (e.signer.empty() ? "(unsigned)" : e.signer) << "\n";
    }
    return 0;
  }

 private:
  BuildOptions options_;
  std::string dir_;
  std::string expires_ = "30d";
};

class RepoVerifyCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("URL", url_, "file://, http://, https:// URL or a directory")
        ->required();
    cmd.add_option("--trust", trust_, kTrustHelp);
    cmd.add_flag("--index-only", index_only_,
                 "check only the index, download no CAR");
  }

  int Run(const CommandContext& c) override {
    std::string t =
        (std::filesystem::temp_directory_path() / "pitstop-repo-verify-XXXXXX")
            .string();
    if (::mkdtemp(t.data()) == nullptr) {
      return Error("cannot create a temp dir");
    }
    auto report = VerifyRepository(url_, CliFetchOptions(trust_), absl::Now(),
                                   !index_only_, t);
    std::error_code ec;
    std::filesystem::remove_all(t, ec);
    if (!report.ok()) return Error(report.status().message());
    const RepositoryIndex& index = report->index.index;
    std::ostream& out = c.output.out();
    out << url_ << ": index version " << index.version << ", signed by "
        << report->index.signer.subject << ", expires "
        << UtcText(index.expires) << "\n";
    if (index_only_) {
      out << index.entries.size() << " CARs listed (not downloaded)\n";
    } else {
      out << report->cars_checked
          << " CARs verified (length, SHA-256, signature)\n";
    }
    return 0;
  }

 private:
  std::string url_;
  std::string trust_ = kDefaultTrust;
  bool index_only_ = false;
};

class RepoMirrorCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("URL", url_, "the repository to copy")->required();
    cmd.add_option("DIR", dir_, "the mirror's directory")->required();
    cmd.add_option("--trust", trust_, kTrustHelp);
  }

  int Run(const CommandContext& c) override {
    std::ostream& out = c.output.out();
    auto report = MirrorRepository(
        url_, dir_, CliFetchOptions(trust_), absl::Now(),
        [&out](const std::string& line) { out << "  " << line << std::endl; });
    if (!report.ok()) return Error(report.status().message());
    out << "mirrored index version " << report->index_version << " into "
        << dir_ << ": " << report->fetched << " CARs fetched, " << report->kept
        << " already present\n";
    return 0;
  }

 private:
  std::string url_;
  std::string dir_;
  std::string trust_ = kDefaultTrust;
};

class RepoAddCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "a name for it")->required();
    cmd.add_option("URL", url_, "file://, http://, https:// URL or a directory")
        ->required();
  }

  int Run(const CommandContext& c) override {
    sv1::AddRepositoryRequest request;
    request.set_name(name_);
    std::string u = url_;
    if (u.find("://") == std::string::npos) {
      u = std::filesystem::absolute(u).lexically_normal().string();
    }
    request.set_url(u);
    AdminClient client(c.global);
    sv1::Repository r;
    if (!client.Call(&Stub::AddRepository, request, &r)) return kExitFailure;
    c.output.out() << "added repository " << r.name() << " (" << r.url()
                   << "): index version " << r.index_version() << ", "
                   << r.cars_size() << " CARs\n";
    return 0;
  }

 private:
  std::string name_;
  std::string url_;
};

class RepoRemoveCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("NAME", name_, "its name")->required();
  }

  int Run(const CommandContext& c) override {
    sv1::RemoveRepositoryRequest request;
    request.set_name(name_);
    AdminClient client(c.global);
    sv1::RemoveRepositoryResponse response;
    if (!client.Call(&Stub::RemoveRepository, request, &response)) {
      return kExitFailure;
    }
    c.output.out() << "removed repository " << name_ << "\n";
    return 0;
  }

 private:
  std::string name_;
};

class RepoListCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_flag("--refresh", refresh_, "download every index first");
    cmd.add_flag("--cars", show_cars_, "also list every CAR offered");
  }

  int Run(const CommandContext& c) override {
    sv1::ListRepositoriesRequest request;
    request.set_refresh(refresh_);
    AdminClient client(c.global);
    sv1::ListRepositoriesResponse response;
    if (!client.Call(&Stub::ListRepositories, request, &response)) {
      return kExitFailure;
    }
    if (c.output.json()) {
      c.output.Message(response);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "URL", "SOURCE", "INDEX", "EXPIRES", "CARS", "ERROR"}};
    for (const auto& r : response.repositories()) {
      rows.push_back(
          {r.name(), r.url(), r.source(),
           r.index_version() ? std::to_string(r.index_version()) : "-",
           TimeText(r.index_expires()), std::to_string(r.cars_size()),
           r.error().empty() ? "-" : r.error()});
    }
    c.output.Table(rows);
    if (show_cars_) PrintCars(response, c.output);
    return 0;
  }

 private:
  static void PrintCars(const sv1::ListRepositoriesResponse& response,
                        const Output& output) {
    std::vector<std::vector<std::string>> cars = {
        {"REPOSITORY", "NAME", "VERSION", "CATEGORY", "BYTES", "SIGNER"}};
    for (const auto& r : response.repositories()) {
      for (const auto& car : r.cars()) {
        cars.push_back({r.name(), car.name(), car.version(),
                        CategoryLabel(car.category()),
                        std::to_string(car.length()),
                        car.signer().empty() ? "(unsigned)" : car.signer()});
      }
    }
    output.out() << "\n";
    output.Table(cars);
  }

  bool refresh_ = false;
  bool show_cars_ = false;
};

class UpdatesCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_flag("--no-refresh", no_refresh_,
                 "use the indexes as last refreshed by the daemon");
  }

  int Run(const CommandContext& c) override {
    sv1::ListUpdatesRequest request;
    request.set_refresh(!no_refresh_);
    AdminClient client(c.global);
    sv1::ListUpdatesResponse response;
    if (!client.Call(&Stub::ListUpdates, request, &response)) {
      return kExitFailure;
    }
    if (c.output.json()) {
      c.output.Message(response);
    } else if (response.updates().empty()) {
      c.output.out() << "every installed driver is up to date\n";
    } else {
      std::vector<std::vector<std::string>> rows = {
          {"NAME", "INSTALLED", "AVAILABLE", "REPOSITORY"}};
      for (const auto& u : response.updates()) {
        rows.push_back({u.name(), u.installed_version(), u.available_version(),
                        u.repository()});
      }
      c.output.Table(rows);
    }
    for (const std::string& e : response.errors()) {
      std::cerr << "pitstop: warning: repository " << e << "\n";
    }
    return 0;
  }

 private:
  bool no_refresh_ = false;
};

}  // namespace

std::vector<CommandSpec> RepoCommands() {
  return {
      {"", "repo",
       "driver repositories: build, verify, mirror; the daemon's list",
       TakesOutput::kNo, nullptr},
      {"repo", "build", "write or update the signed index of the CARs in DIR",
       TakesOutput::kNo, Make<RepoBuildCommand>()},
      {"repo", "verify",
       "check a repository as a daemon would: index and every CAR",
       TakesOutput::kNo, Make<RepoVerifyCommand>()},
      {"repo", "mirror",
       "copy a repository byte for byte into DIR, verifying; resumable",
       TakesOutput::kNo, Make<RepoMirrorCommand>()},
      {"repo", "add",
       "add a repository to the running daemon (checked at once)",
       TakesOutput::kNo, Make<RepoAddCommand>()},
      {"repo", "remove", "remove an operator-added repository",
       TakesOutput::kNo, Make<RepoRemoveCommand>()},
      {"repo", "list",
       "the daemon's repositories: index version, expiry, errors",
       TakesOutput::kYes, Make<RepoListCommand>()},
      {"", "updates", "installed drivers with a newer version in a repository",
       TakesOutput::kYes, Make<UpdatesCommand>()},
  };
}

}  // namespace pitstop
