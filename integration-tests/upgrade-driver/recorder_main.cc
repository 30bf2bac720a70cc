// recorder-driver: a test-only storage driver for upgrades under load.
//
// CreateVolume works for the bag's work_ms, then records the call in the
// state directory that every version of the driver shares:
//   ops/<operation id>   "resource version start_ns end_ns pid" — written
//                        once per operation (linked into place whole), so
//                        a resent operation is answered from it instead of
//                        running again
//   replays.log          "operation-id version" for each such replay
// Times are CLOCK_MONOTONIC, comparable across processes. A test reads the
// records to prove that no resource ran on two versions at once and that
// every call ran exactly once.
//
// resources/recorder.conf may say crash_after_calls=N: the process aborts
// at the start of its Nth call (a version that fails during probation); and
// fail_calls=1: every call is recorded, then answered INTERNAL (a version
// that answers wrongly, for a canary's gate).

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/sdk/driver.h"

namespace {

namespace v1 = pitstop::driver::v1;

int64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

bool SafeName(const std::string& s) {
  if (s.empty() || s.size() > 128 || s[0] == '.') return false;
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

// What resources/recorder.conf says.
struct Conf {
  int crash_after_calls = 0;  // 0: never
  bool fail_calls = false;
};
Conf ReadConf() {
  Conf conf;
  const char* root = std::getenv("PITSTOP_DRIVER_ROOT");
  if (root == nullptr) return conf;
  std::ifstream in(std::string(root) + "/resources/recorder.conf");
  std::string line;
  while (std::getline(in, line)) {
    constexpr char kCrash[] = "crash_after_calls=";
    constexpr char kFail[] = "fail_calls=";
    if (line.rfind(kCrash, 0) == 0) {
      (void)absl::SimpleAtoi(line.substr(sizeof(kCrash) - 1),
                             &conf.crash_after_calls);
    } else if (line.rfind(kFail, 0) == 0) {
      conf.fail_calls = line.substr(sizeof(kFail) - 1) == "1";
    }
  }
  return conf;
}

class Recorder final : public v1::StorageService::Service {
 public:
  Recorder(std::string state_dir, std::string version, Conf conf)
      : ops_dir_(state_dir + "/ops"),
        replays_(state_dir + "/replays.log"),
        version_(std::move(version)),
        crash_after_(conf.crash_after_calls),
        fail_calls_(conf.fail_calls) {
    ::mkdir(ops_dir_.c_str(), 0700);
  }

  grpc::Status CreateVolume(grpc::ServerContext*,
                            const v1::CreateVolumeRequest* request,
                            v1::CreateVolumeResponse* response) override {
    const int n = ++calls_;
    if (crash_after_ > 0 && n >= crash_after_) {
      std::abort();  // a crash, in the middle of serving
    }
    const v1::CallContext& ctx = request->context();
    const std::string& op = ctx.operation_id();
    if (!SafeName(op)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "recorder needs an operation id of letters, digits, "
                          "'-', '_' and '.'");
    }
    const std::string resource =
        absl::StrCat(ctx.resource().type(), "/", ctx.resource().id());
    const std::string path = ops_dir_ + "/" + op;
    if (::access(path.c_str(), F_OK) == 0) {
      // Already served (by this or another version): answer, do not redo.
      Append(replays_, absl::StrCat(op, " ", version_, "\n"));
      response->set_path(path);
      return grpc::Status::OK;
    }
    Say(ctx, op);
    int64_t work_ms = 0;
    auto it = ctx.properties().find("work_ms");
    if (it != ctx.properties().end()) {
      (void)absl::SimpleAtoi(it->second.number_value(), &work_ms);
    }
    const int64_t start = MonotonicNanos();
    std::this_thread::sleep_for(std::chrono::milliseconds(work_ms));
    const int64_t end = MonotonicNanos();
    // Written whole under a private name, then linked into place: a process
    // that dies half-way leaves no record, never a torn one, and link()
    // refuses an existing name as O_EXCL would.
    const std::string line = absl::StrCat(resource, " ", version_, " ", start,
                                          " ", end, " ", ::getpid(), "\n");
    const std::string tmp =
        absl::StrCat(ops_dir_, "/.", op, ".", ::getpid(), ".", n);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::write(fd, line.data(), line.size()) !=
                      static_cast<ssize_t>(line.size())) {
      if (fd >= 0) ::close(fd);
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          absl::StrCat("cannot write ", tmp));
    }
    ::close(fd);
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      // The same operation ran twice at once: the daemon must never do that.
      Append(replays_, absl::StrCat(op, " ", version_, " concurrent\n"));
    }
    ::unlink(tmp.c_str());
    if (fail_calls_) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          absl::StrCat("recorder ", version_,
                                       " fails every call (fail_calls=1)"));
    }
    response->set_path(path);
    response->set_vendor_volume_id(version_);
    return grpc::Status::OK;
  }

 private:
  // `say` in the bag: written to stderr `say_after_ms` later, from a thread
  // of its own (the call does not wait), then marked as written by the file
  // <state>/said-<operation> (tests of output kept while no daemon reads).
  void Say(const v1::CallContext& ctx, const std::string& op) {
    auto say = ctx.properties().find("say");
    if (say == ctx.properties().end()) return;
    int64_t after_ms = 0;
    auto after = ctx.properties().find("say_after_ms");
    if (after != ctx.properties().end()) {
      (void)absl::SimpleAtoi(after->second.number_value(), &after_ms);
    }
    std::thread([text = say->second.string_value(), after_ms,
                 marker = absl::StrCat(ops_dir_, "/../said-", op)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(after_ms));
      std::fprintf(stderr, "said: %s\n", text.c_str());
      std::fflush(stderr);
      const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT, 0600);
      if (fd >= 0) ::close(fd);
    }).detach();
  }

  static void Append(const std::string& file, const std::string& line) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) return;
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
  }

  const std::string ops_dir_;
  const std::string replays_;
  const std::string version_;
  const int crash_after_;
  const bool fail_calls_;
  std::atomic<int> calls_{0};
};

}  // namespace

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  const char* version = std::getenv("PITSTOP_DRIVER_VERSION");
  Recorder service(runtime.state_dir(), version ? version : "unknown",
                   ReadConf());
  return runtime.Serve({&service});
}
