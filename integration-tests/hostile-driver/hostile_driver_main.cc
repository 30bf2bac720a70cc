// hostile-driver: a test-only storage driver that, on request, tries to
// escape its sandbox and reports what happened (docs/sandbox.md). Each
// CreateVolume call names one attempt as its resource id (type "volume");
// the answer's details hold "outcome" (denied, contained or ESCAPED) and
// "detail". Attempts that the seccomp filter answers by killing the process
// run in a forked child, so the driver survives to report; "self_seccomp"
// and "self_memory" misbehave in the driver process itself, so the daemon's
// description of its end can be checked.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"
#include "pitstop/sdk/driver.h"
#include "pitstop/sdk/properties.h"

namespace pitstop::hostile {
namespace {

namespace v1 = ::pitstop::driver::v1;

struct Result {
  std::string outcome;  // "denied", "contained" or "ESCAPED"
  std::string detail;
};

std::string Errno(int e) { return std::strerror(e); }

// Runs `attempt` in a forked child and describes how the child ended:
// "killed by signal 31" or "exit 0" (the attempt succeeded: escaped) or
// "exit N" (it failed with errno N: denied).
Result InChild(const std::function<int()>& attempt) {
  const pid_t pid = ::fork();
  if (pid < 0) return {"denied", "fork failed: " + Errno(errno)};
  if (pid == 0) {
    const int rc = attempt();
    ::_exit(rc == 0 ? 0 : (errno == 0 ? 1 : errno));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return {"denied", absl::StrCat("child killed by signal ", WTERMSIG(status),
                                   " (", strsignal(WTERMSIG(status)), ")")};
  }
  if (WEXITSTATUS(status) == 0) return {"ESCAPED", "the call succeeded"};
  return {"denied", absl::StrCat("failed: ", Errno(WEXITSTATUS(status)))};
}

Result WriteOutside(const std::string& extra) {
  std::vector<std::string> paths = {"/escape",     "/etc/escape",
                                    "/usr/escape", "/driver/escape",
                                    "/run/escape", "/proc/sys/kernel/hostname"};
  if (!extra.empty()) paths.push_back(extra);
  std::vector<std::string> seen;
  for (const std::string& p : paths) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      if (p.rfind("/proc/", 0) != 0) ::unlink(p.c_str());
      return {"ESCAPED", "wrote " + p};
    }
    seen.push_back(absl::StrCat(p, ": ", Errno(errno)));
  }
  return {"denied", absl::StrJoin(seen, "; ")};
}

Result ReadOther(const std::string& path) {
  if (path.empty()) return {"denied", "no path given"};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return {"ESCAPED", "opened " + path};
  }
  return {"denied", absl::StrCat(path, ": ", Errno(errno))};
}

Result Tcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {"denied", "socket: " + Errno(errno)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int e = errno;
  ::close(fd);
  if (rc == 0) return {"ESCAPED", absl::StrCat("connected to port ", port)};
  return {"denied", "connect: " + Errno(e)};
}

Result ForkBomb() {
  std::vector<pid_t> kids;
  int err = 0;
  while (kids.size() < 5000) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) ::kill(k, SIGKILL);
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  if (err == 0) return {"ESCAPED", "5000 processes and counting"};
  return {"contained", absl::StrCat("fork failed after ", kids.size(),
                                    " processes: ", Errno(err))};
}

// Allocates and touches up to 8 GiB (volatile, so the compiler cannot drop
// it); false when malloc fails first.
bool Allocate() {
  static std::vector<volatile char*> blocks;
  for (int i = 0; i < 512; ++i) {
    auto* p = static_cast<volatile char*>(std::malloc(16 << 20));
    if (p == nullptr) return false;
    for (size_t j = 0; j < (16u << 20); j += 4096) p[j] = 1;
    blocks.push_back(p);
  }
  return true;
}

Result MemoryBomb() {
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Up to 8 GiB, touched page by page.
    if (!Allocate()) ::_exit(2);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return {"contained", absl::StrCat("allocating child killed by signal ",
                                      WTERMSIG(status))};
  }
  if (WEXITSTATUS(status) == 2) return {"contained", "malloc failed"};
  return {"ESCAPED", "allocated 8 GiB"};
}

Result FdExhaustion() {
  std::vector<int> fds;
  int err = 0;
  while (fds.size() < 100000) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      break;
    }
    fds.push_back(fd);
  }
  for (int fd : fds) ::close(fd);
  if (err == 0) return {"ESCAPED", "100000 descriptors"};
  return {"contained", absl::StrCat("open failed after ", fds.size(),
                                    " descriptors: ", Errno(err))};
}

Result StderrFlood() {
  const std::string line(200, 'x');
  size_t written = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string l = absl::StrCat("flood ", i, " ", line, "\n");
    if (::write(2, l.data(), l.size()) > 0) written += l.size();
  }
  return {"contained", absl::StrCat("wrote ", written, " bytes to stderr")};
}

Result Setuid() {
  if (::setuid(0) == 0) return {"ESCAPED", "setuid(0) succeeded"};
  return {"denied", "setuid(0): " + Errno(errno)};
}

class HostileService final : public v1::StorageService::Service {
 public:
  grpc::Status GetCapabilities(
      grpc::ServerContext*, const v1::GetStorageCapabilitiesRequest*,
      v1::GetStorageCapabilitiesResponse* response) override {
    auto& caps = *response->mutable_capabilities();
    caps["PID"] = absl::StrCat(::getpid());
    caps["UID"] = absl::StrCat(::getuid());
    caps["HOSTILE"] = "ready";
    return grpc::Status::OK;
  }

  grpc::Status CreateVolume(grpc::ServerContext*,
                            const v1::CreateVolumeRequest* request,
                            v1::CreateVolumeResponse* response) override {
    const std::string attempt = request->context().resource().id();
    sdk::Properties props(request->context());
    const std::string path = props.GetStringOr("path", "").value_or("");
    const int port =
        static_cast<int>(props.GetIntegerOr("port", 0).value_or(0));
    Result r;
    if (attempt == "write_outside") {
      r = WriteOutside(path);
    } else if (attempt == "rewrite_pid") {
      // The daemon's record of this driver's pid, beside its socket.
      const int fd = ::open("/run/pitstop/pid", O_WRONLY | O_TRUNC | O_CLOEXEC);
      if (fd >= 0) {
        ::close(fd);
        r = {"ESCAPED", "truncated /run/pitstop/pid"};
      } else {
        r = {"denied", "/run/pitstop/pid: " + Errno(errno)};
      }
    } else if (attempt == "swap_socket") {
      // Replacing its socket with a symlink to another driver's would make
      // the daemon connect there: the directory must be closed by now.
      std::string dir = std::getenv("PITSTOP_SOCKET");
      dir = dir.substr(0, dir.rfind('/'));
      const std::string link = dir + "/evil.sock";
      if (::symlink("/run/pitstop/driver.sock", link.c_str()) == 0) {
        ::unlink(link.c_str());
        r = {"ESCAPED", "created a symlink in " + dir};
      } else {
        r = {"denied", "symlink in " + dir + ": " + Errno(errno)};
      }
    } else if (attempt == "read_other") {
      r = ReadOther(path);
    } else if (attempt == "ptrace_parent") {
      r = InChild([] {
        return static_cast<int>(::ptrace(PTRACE_ATTACH, ::getppid(), 0, 0));
      });
    } else if (attempt == "ptrace_init") {
      r = InChild(
          [] { return static_cast<int>(::ptrace(PTRACE_ATTACH, 1, 0, 0)); });
    } else if (attempt == "mount") {
      r = InChild([] { return ::mount("tmpfs", "/tmp", "tmpfs", 0, nullptr); });
    } else if (attempt == "unshare") {
      r = InChild([] { return ::unshare(CLONE_NEWUSER | CLONE_NEWNS); });
    } else if (attempt == "tcp") {
      r = Tcp(port);
    } else if (attempt == "fork_bomb") {
      r = ForkBomb();
    } else if (attempt == "memory_bomb") {
      r = MemoryBomb();
    } else if (attempt == "fd_exhaustion") {
      r = FdExhaustion();
    } else if (attempt == "stderr_flood") {
      r = StderrFlood();
    } else if (attempt == "setuid") {
      r = Setuid();
    } else if (attempt == "self_seccomp") {
      ::mount("tmpfs", "/tmp", "tmpfs", 0, nullptr);
      r = {"ESCAPED", "mount returned"};
    } else if (attempt == "self_memory") {
      r = Allocate() ? Result{"ESCAPED", "allocated 8 GiB"}
                     : Result{"contained", "malloc failed"};
    } else {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "unknown attempt " + attempt);
    }
    (*response->mutable_details())["outcome"] = r.outcome;
    (*response->mutable_details())["detail"] = r.detail;
    sdk::Log("info", absl::StrCat("attempt ", attempt, ": ", r.outcome, ": ",
                                  r.detail));
    return grpc::Status::OK;
  }
};

}  // namespace
}  // namespace pitstop::hostile

int main(int argc, char** argv) {
  auto runtime = pitstop::sdk::DriverRuntime::FromArgs(argc, argv);
  pitstop::hostile::HostileService service;
  return runtime.Serve({&service});
}
