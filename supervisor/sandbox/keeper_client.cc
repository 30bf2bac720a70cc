#include "supervisor/sandbox/keeper_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "supervisor/common/local_socket.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

int PidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

void Kill(int pidfd) {
  ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
}

bool SameSecret(const uint8_t* a, const std::string& b_hex) {
  const std::string b = absl::HexStringToBytes(b_hex);
  if (b.size() != kKeeperSecretBytes) return false;
  uint8_t diff = 0;  // in constant time
  for (int i = 0; i < kKeeperSecretBytes; ++i) {
    diff |= a[i] ^ static_cast<uint8_t>(b[static_cast<size_t>(i)]);
  }
  return diff == 0;
}

struct Outcome {
  bool proven = false;
  ProvenKeeper keeper;
  std::string refusal;
};

// Talks to a keeper that is provably the recorded process: its socket, its
// peer credentials, its secret.
std::string Challenge(ProvenKeeper& k, absl::Time deadline) {
  struct stat st;
  if (::lstat(k.record.socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) ||
      st.st_uid != ::geteuid()) {
    return "its control socket is missing or was replaced";
  }
  std::string why;
  k.connection = ConnectWithin(k.record.socket, deadline, &why);
  if (k.connection < 0) return why;
  absl::StatusOr<PeerCredentials> peer = PeerOf(k.connection);
  if (!peer.ok() || peer->pid != k.record.keeper_pid) {
    return absl::StrCat("its control socket is served by pid ",
                        peer.ok() ? peer->pid : 0, ", not the keeper");
  }
  const KeeperHello hello;
  if (::send(k.connection, &hello, sizeof hello, MSG_NOSIGNAL) !=
          static_cast<ssize_t>(sizeof hello) ||
      !ReadWithin(k.connection, &k.hello, sizeof k.hello, deadline)) {
    return "it does not answer in time";
  }
  if (k.hello.magic != kKeeperHelloMagic ||
      !SameSecret(k.hello.secret, k.record.secret_hex)) {
    return "it does not know the recorded secret";
  }
  return "";
}

Outcome ProveOne(const std::string& rec_path, const std::string& boot_id,
                 absl::Time deadline) {
  Outcome out;
  absl::StatusOr<KeeperRecord> record = ReadKeeperRecord(rec_path);
  if (!record.ok()) {
    out.refusal = std::string(record.status().message());
    return out;
  }
  ProvenKeeper& k = out.keeper;
  k.record = *std::move(record);
  const std::string who =
      absl::StrCat("keeper of ", k.record.driver, " instance ",
                   k.record.instance_id, " (pid ", k.record.keeper_pid, ")");
  if (k.record.boot_id != boot_id) {
    out.refusal = absl::StrCat(who, ": recorded in an earlier boot");
    return out;
  }
  k.pidfd = PidfdOpen(k.record.keeper_pid);
  if (k.pidfd < 0) {
    out.refusal = absl::StrCat(who, ": no longer runs");
    return out;
  }
  if (ProcessStartTime(k.record.keeper_pid) != k.record.start_time) {
    out.refusal = absl::StrCat(
        who, ": the pid now belongs to another process (left alone)");
    ::close(k.pidfd);
    k.pidfd = -1;
    return out;
  }
  if (std::string why = Challenge(k, deadline); !why.empty()) {
    out.refusal = absl::StrCat(who, ": ", why, "; stopped");
    Kill(k.pidfd);
    ::close(k.pidfd);
    if (k.connection >= 0) ::close(k.connection);
    k.pidfd = k.connection = -1;
    return out;
  }
  out.proven = true;
  return out;
}

}  // namespace

std::string KeeperSocketPath(const std::string& keeper_dir,
                             const std::string& driver, uint64_t instance_id) {
  return (fs::path(keeper_dir) /
          absl::StrCat(driver, ".", instance_id, ".sock"))
      .string();
}

std::string KeeperRecordPath(const std::string& socket_path) {
  std::string path = socket_path;
  if (absl::EndsWith(path, ".sock")) path.resize(path.size() - 5);
  return path + ".rec";
}

absl::Status PrepareKeeperDir(const std::string& keeper_dir) {
  std::error_code ec;
  fs::create_directories(keeper_dir, ec);
  ::chmod(keeper_dir.c_str(), 0700);
  struct stat st;
  if (::lstat(keeper_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(keeper_dir,
                     " must be a directory of pitstopd's user that no one "
                     "else may enter (mode 0700)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> BindKeeperSocket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keeper socket path ", path, " is longer than ",
        sizeof addr.sun_path - 1, " bytes; choose a shorter --state-dir"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        absl::StrCat("cannot bind the keeper socket ", path, ": ", why));
  }
  ::chmod(path.c_str(), 0600);
  return fd;
}

absl::Status NewKeeperSecret(uint8_t secret[kKeeperSecretBytes]) {
  if (::getrandom(secret, kKeeperSecretBytes, 0) != kKeeperSecretBytes) {
    return absl::InternalError(
        absl::StrCat("cannot draw a keeper secret: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string SecretHex(const uint8_t secret[kKeeperSecretBytes]) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(secret), kKeeperSecretBytes));
}

std::vector<ProvenKeeper> ProveKeepers(const std::string& keeper_dir,
                                       absl::Duration timeout,
                                       std::vector<std::string>* refusals) {
  std::vector<std::string> records;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(keeper_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, ".rec")) records.push_back(entry.path().string());
  }
  const std::string boot_id = CurrentBootId();
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<Outcome> outcomes(records.size());
  std::vector<std::thread> threads;
  threads.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    threads.emplace_back(
        [&, i] { outcomes[i] = ProveOne(records[i], boot_id, deadline); });
  }
  for (std::thread& t : threads) t.join();
  std::vector<ProvenKeeper> proven;
  for (size_t i = 0; i < records.size(); ++i) {
    if (outcomes[i].proven) {
      proven.push_back(std::move(outcomes[i].keeper));
      continue;
    }
    refusals->push_back(outcomes[i].refusal);
    const std::string& rec = records[i];
    ::unlink(rec.c_str());
    ::unlink((rec.substr(0, rec.size() - 4) + ".sock").c_str());
  }
  return proven;
}

absl::Status AttachKeeper(int connection, int out_w, int err_w, int status_w) {
  const KeeperAttach attach;
  absl::Status sent = SendWithFds(
      connection,
      absl::string_view(reinterpret_cast<const char*>(&attach), sizeof attach),
      {out_w, err_w, status_w});
  if (!sent.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the keeper went away: ", sent.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<KeeperPipes> AttachNewPipes(int& connection) {
  int out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1};
  const bool piped = ::pipe2(out, O_CLOEXEC) == 0 &&
                     ::pipe2(err, O_CLOEXEC) == 0 &&
                     ::pipe2(status, O_CLOEXEC) == 0;
  absl::Status attached =
      piped ? AttachKeeper(connection, out[1], err[1], status[1])
            : absl::UnavailableError(
                  absl::StrCat("cannot make pipes: ", std::strerror(errno)));
  for (int* fd : {&out[1], &err[1], &status[1], &connection}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (!attached.ok()) {
    for (int fd : {out[0], err[0], status[0]}) {
      if (fd >= 0) ::close(fd);
    }
    return attached;
  }
  for (int fd : {out[0], err[0], status[0]}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return KeeperPipes{out[0], err[0], status[0]};
}

Survivor SurvivorOf(const ProvenKeeper& k) {
  Survivor s;
  s.driver = k.record.driver;
  s.instance_id = k.record.instance_id;
  s.version = k.record.version;
  s.pid = k.record.driver_pid;
  s.sandbox = k.record.sandbox;
  s.exited = k.hello.exited != 0;
  s.dropped_bytes = k.hello.dropped_bytes;
  return s;
}

void RemoveKeeperFiles(const std::string& socket_path) {
  ::unlink(socket_path.c_str());
  ::unlink(KeeperRecordPath(socket_path).c_str());
}

}  // namespace pitstop
