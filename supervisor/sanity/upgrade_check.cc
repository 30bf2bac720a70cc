#include "supervisor/sanity/upgrade_check.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "supervisor/car/car_reader.h"
#include "supervisor/car/car_writer.h"
#include "supervisor/common/status_macros.h"
#include "supervisor/sanity/call_kit.h"
#include "supervisor/sanity/sanity_daemon.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;
namespace sv1 = pitstop::supervisor::v1;

constexpr int kCallers = 4;
constexpr absl::Duration kProbation = absl::Seconds(1);

// Files of a signed CAR that an edited copy cannot keep.
bool SignatureFile(absl::string_view name) {
  if (!absl::StartsWith(name, "META-INF/")) return false;
  return name == "META-INF/MANIFEST.MF" || absl::EndsWith(name, ".SF") ||
         absl::EndsWith(name, ".EC") || absl::EndsWith(name, ".RSA");
}

// driver.yaml with its top-level `version:` line replaced.
absl::StatusOr<std::string> WithVersion(const std::string& yaml,
                                        const SemVer& version) {
  std::string out;
  bool replaced = false;
  for (absl::string_view line : absl::StrSplit(yaml, '\n')) {
    if (!replaced && absl::StartsWith(line, "version:")) {
      absl::StrAppend(&out, "version: ", version.ToString(), "\n");
      replaced = true;
    } else {
      absl::StrAppend(&out, line, "\n");
    }
  }
  if (!replaced) {
    return absl::InvalidArgumentError(
        "META-INF/driver.yaml has no top-level `version:` line to change");
  }
  out.pop_back();  // the split added one newline too many
  return out;
}

// What the callers during the upgrade saw.
struct Load {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0};
  absl::Mutex mu;
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);  // the first few
  int64_t failed ABSL_GUARDED_BY(mu) = 0;
};

// Each caller cycles through kResourcesPerCaller resources, each with an
// operation id of its own: the first call of each applies, the rest replay
// it, before, during and after the upgrade (so the new version replays what
// the old one applied), and a driver's own limits are never reached.
constexpr int kResourcesPerCaller = 16;

void Call(SanityTarget& t, const Creation& creation, int caller, Load& load) {
  for (int n = 0; !load.stop.load(); ++n) {
    const std::string id = absl::StrCat("sanity-load-", t.self_upgrades, "-",
                                        caller, "-", n % kResourcesPerCaller);
    const RoutedAnswer a = Create(t, creation, id, id);
    load.calls.fetch_add(1);
    if (a.code == grpc::StatusCode::OK) continue;
    absl::MutexLock lock(&load.mu);
    ++load.failed;
    if (load.errors.size() < 3) {
      load.errors.push_back(absl::StrCat(id, ": ", Describe(a)));
    }
  }
}

}  // namespace

SemVer SelfUpgradeVersion(const SemVer& v, int n) {
  SemVer next = v;
  next.patch += 1;
  next.prerelease = absl::StrCat("sanity.", n);
  next.build.clear();
  return next;
}

absl::Status RepackWithVersion(const std::string& car, const SemVer& version,
                               const std::string& out) {
  ASSIGN_OR_RETURN(std::vector<CarFile> files, ReadCarFiles(car));
  const fs::path dir = fs::path(out).parent_path() / "repack";
  std::error_code ec;
  fs::remove_all(dir, ec);
  bool has_yaml = false;
  for (CarFile& f : files) {
    if (SignatureFile(f.name)) continue;
    if (f.name == "META-INF/driver.yaml") {
      ASSIGN_OR_RETURN(f.content, WithVersion(f.content, version));
      has_yaml = true;
    }
    const fs::path path = dir / f.name;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream file(path, std::ios::binary);
    file << f.content;
    if (!file.good()) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", path.string()));
    }
    file.close();
    if (absl::StartsWith(f.name, "bin/")) ::chmod(path.c_str(), 0755);
  }
  if (!has_yaml) {
    return absl::InvalidArgumentError(
        absl::StrCat(car, " has no META-INF/driver.yaml"));
  }
  absl::Status packed = PackCar(dir.string(), out);
  fs::remove_all(dir, ec);
  return packed;
}

absl::Status UpgradesToItselfUnderLoad(SanityTarget& t) {
  // One process first: a graceful restart's old one may still drain.
  auto single = t.daemon->AwaitDriver(
      t.manifest.name,
      [](const sv1::Driver& d) { return d.instances_size() == 1; },
      t.manifest.timeouts.drain + t.manifest.timeouts.stop + absl::Seconds(10));
  if (!single.ok()) return single.status();
  ASSIGN_OR_RETURN(const int pid, ReadyPid(t));
  const SemVer to = SelfUpgradeVersion(t.manifest.version, ++t.self_upgrades);
  const std::string copy =
      (fs::path(t.daemon->dir()) / absl::StrCat("self-", to.ToString(), ".car"))
          .string();
  RETURN_IF_ERROR(RepackWithVersion(t.car, to, copy));
  std::ifstream in(copy, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());

  // Calls that create, if it takes any, all through the upgrade.
  std::string why;
  auto taken = FirstTaken(t, "sanity-load-first", "sanity-load-first", why);
  Load load;
  std::vector<std::thread> callers;
  if (taken) {
    for (int i = 0; i < kCallers; ++i) {
      callers.emplace_back([&t, &load, creation = taken->first, i] {
        Call(t, creation, i, load);
      });
    }
  }
  sv1::UpgradeDriverRequest up;
  up.set_name(t.manifest.name);
  up.set_car(bytes);
  up.set_probation_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(kProbation)));
  sv1::UpgradeDriverResponse started;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  const grpc::Status s = t.daemon->admin().UpgradeDriver(&ctx, up, &started);
  absl::StatusOr<sv1::Driver> done = absl::UnknownError("not started");
  const absl::Duration wait =
      t.manifest.timeouts.start + t.manifest.timeouts.drain +
      t.manifest.timeouts.stop + kProbation + absl::Seconds(10);
  if (s.ok()) {
    done = t.daemon->AwaitDriver(
        t.manifest.name,
        [](const sv1::Driver& d) { return d.upgrade().empty(); }, wait);
  }
  load.stop = true;
  for (std::thread& c : callers) c.join();
  if (!s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the upgrade to ", to.ToString(), " was refused: ", s.error_message()));
  }
  if (!done.ok()) return done.status();
  if (done->version() != to.ToString()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the upgrade to a copy of itself (", to.ToString(), ") did not ",
        done->upgrade().empty() ? "commit" : "end within the timeouts", ": ",
        done->message().empty() ? done->last_exit() : done->message()));
  }
  t.manifest.version = to;
  if (done->pid() == pid) {
    return absl::FailedPreconditionError(
        "the upgrade committed but the old process still serves");
  }
  absl::MutexLock lock(&load.mu);
  if (load.failed > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(load.failed, " of ", load.calls.load(),
                     " calls failed during the upgrade to ", to.ToString(),
                     ", the first: ", load.errors.front()));
  }
  return absl::OkStatus();
}

}  // namespace pitstop
