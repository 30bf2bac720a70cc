#ifndef PITSTOP_INTEGRATION_TESTS_RECORDER_RECORDS_H_
#define PITSTOP_INTEGRATION_TESTS_RECORDER_RECORDS_H_

// Test-only: a daemon on the recorder driver's CARs, what the driver
// recorded for each call (recorder_main.cc), and whether any resource ever
// ran in two processes at once. Shared by the upgrade and canary tests.

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "integration-tests/daemon_fixture.h"

namespace pitstop {

namespace recorder_fs = std::filesystem;

// A fresh drivers directory holding recorder 1.0.0 only; removed with the
// object.
class RecorderCars {
 public:
  RecorderCars() {
    std::string t =
        (recorder_fs::temp_directory_path() / "pitstop-upgrade-XXXXXX")
            .string();
    dir_ = ::mkdtemp(t.data());
    recorder_fs::copy_file(RecorderCar(1), dir_ + "/recorder-1.0.0.car");
  }
  ~RecorderCars() {
    std::error_code ec;
    recorder_fs::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  // A daemon on these CARs, ready once recorder is.
  DaemonSpec Spec() const {
    DaemonSpec spec;
    spec.cars_dir = dir_;
    spec.await_ready = "recorder";
    return spec;
  }

 private:
  std::string dir_;
};

// What the driver wrote for one operation (see recorder_main.cc).
struct Served {
  std::string op;
  std::string resource;
  std::string version;
  int64_t start = 0;
  int64_t end = 0;
  std::string pid;
};

inline std::map<std::string, Served> ReadServed(const std::string& ops_dir) {
  std::map<std::string, Served> out;
  for (const auto& entry : recorder_fs::directory_iterator(ops_dir)) {
    // ".op.pid.n": a record being written when its process died.
    if (entry.path().filename().string()[0] == '.') continue;
    std::ifstream in(entry.path());
    Served s;
    s.op = entry.path().filename().string();
    in >> s.resource >> s.version >> s.start >> s.end >> s.pid;
    out[s.op] = s;
  }
  return out;
}

inline CommandResult Cli(Daemon& daemon, std::vector<std::string> args) {
  std::vector<std::string> argv = {PITSTOP_CLI_PATH, "--address",
                                   daemon.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, absl::Seconds(60));
}

// How many pairs of calls on one resource ran in two processes at
// overlapping times (each pair is named in the test's output).
inline int CountOverlaps(const std::map<std::string, Served>& served) {
  std::map<std::string, std::vector<const Served*>> by_resource;
  for (const auto& [op, s] : served) by_resource[s.resource].push_back(&s);
  int overlaps = 0;
  for (auto& [resource, list] : by_resource) {
    for (size_t i = 0; i < list.size(); ++i) {
      for (size_t j = i + 1; j < list.size(); ++j) {
        const Served& a = *list[i];
        const Served& b = *list[j];
        if (a.pid != b.pid && a.start < b.end && b.start < a.end) {
          UNSCOPED_INFO(resource << ": " << a.op << " on " << a.version
                                 << " (pid " << a.pid << ") overlaps " << b.op
                                 << " on " << b.version << " (pid " << b.pid
                                 << ")");
          ++overlaps;
        }
      }
    }
  }
  return overlaps;
}

}  // namespace pitstop

#endif  // PITSTOP_INTEGRATION_TESTS_RECORDER_RECORDS_H_
