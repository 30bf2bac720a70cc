#include "proxkvm_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pitstop::proxkvm {
namespace {

constexpr char kHeader[] = "proxkvm-state";
constexpr char kVersion[] = "1";

#define PROX_RETURN_IF_ERROR(expr)     \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (false)

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ",
                                             std::strerror(errno),
                                             "; check the state directory"));
}

std::string Field(const std::string& s) { return absl::CEscape(s); }
std::string Field(uint64_t n) { return absl::StrCat(n); }
std::string Field(bool b) { return b ? "1" : "0"; }

template <typename... Fields>
void AddRecord(std::string& out, const Fields&... fields) {
  std::vector<std::string> escaped = {Field(fields)...};
  absl::StrAppend(&out, absl::StrJoin(escaped, "\t"), "\n");
}

// The fields of one record, with the line they came from for errors.
class Record {
 public:
  Record(int line, std::vector<std::string> fields)
      : line_(line), fields_(std::move(fields)) {}

  const std::string& kind() const { return fields_[0]; }
  absl::Status Expect(size_t count) const {
    if (fields_.size() == count) return absl::OkStatus();
    return Error(
        absl::StrCat("expected ", count, " fields, got ", fields_.size()));
  }
  const std::string& Str(size_t i) const { return fields_[i]; }
  absl::Status Uint(size_t i, uint64_t* out) const {
    if (absl::SimpleAtoi(fields_[i], out)) return absl::OkStatus();
    return Error(absl::StrCat("field ", i, " is not a number"));
  }
  absl::Status Bool(size_t i, bool* out) const {
    if (fields_[i] != "0" && fields_[i] != "1") {
      return Error(absl::StrCat("field ", i, " is not 0 or 1"));
    }
    *out = fields_[i] == "1";
    return absl::OkStatus();
  }
  absl::Status Error(absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(
        "proxkvm state line ", line_, ": ", what,
        "; restore the state directory from a backup or remove it"));
  }

 private:
  int line_;
  std::vector<std::string> fields_;
};

absl::Status ParseRecord(const Record& r, ClusterState& state) {
  const std::string& kind = r.kind();
  if (kind == "next") {
    PROX_RETURN_IF_ERROR(r.Expect(3));
    PROX_RETURN_IF_ERROR(r.Uint(1, &state.next_vmid));
    return r.Uint(2, &state.next_operation_sequence);
  }
  if (kind == "host") {
    PROX_RETURN_IF_ERROR(r.Expect(7));
    HostRecord h;
    h.id = r.Str(1);
    h.url = r.Str(2);
    uint64_t cpus = 0, mhz = 0;
    PROX_RETURN_IF_ERROR(r.Uint(3, &cpus));
    PROX_RETURN_IF_ERROR(r.Uint(4, &mhz));
    h.cpus = static_cast<uint32_t>(cpus);
    h.cpu_speed_mhz = static_cast<uint32_t>(mhz);
    PROX_RETURN_IF_ERROR(r.Uint(5, &h.memory_bytes));
    h.version = r.Str(6);
    state.hosts[h.id] = std::move(h);
    return absl::OkStatus();
  }
  if (kind == "vm") {
    PROX_RETURN_IF_ERROR(r.Expect(7));
    VmRecord v;
    v.id = r.Str(1);
    PROX_RETURN_IF_ERROR(r.Uint(2, &v.vmid));
    if (!v.spec.ParseFromString(r.Str(3))) return r.Error("corrupt VM spec");
    v.host = r.Str(4);
    PROX_RETURN_IF_ERROR(r.Bool(5, &v.running));
    PROX_RETURN_IF_ERROR(r.Uint(6, &v.boots));
    state.vms[v.id] = std::move(v);
    return absl::OkStatus();
  }
  if (kind == "operation") {
    PROX_RETURN_IF_ERROR(r.Expect(6));
    CompletedOperation op;
    PROX_RETURN_IF_ERROR(r.Uint(2, &op.sequence));
    op.method = r.Str(3);
    op.resource_id = r.Str(4);
    op.response = r.Str(5);
    state.operations[r.Str(1)] = std::move(op);
    return absl::OkStatus();
  }
  return r.Error(absl::StrCat("unknown record '", kind, "'"));
}

}  // namespace

std::string SerializeClusterState(const ClusterState& state) {
  std::string out;
  AddRecord(out, std::string(kHeader), std::string(kVersion));
  AddRecord(out, std::string("next"), state.next_vmid,
            state.next_operation_sequence);
  for (const auto& [id, h] : state.hosts) {
    AddRecord(out, std::string("host"), h.id, h.url, uint64_t{h.cpus},
              uint64_t{h.cpu_speed_mhz}, h.memory_bytes, h.version);
  }
  for (const auto& [id, v] : state.vms) {
    AddRecord(out, std::string("vm"), v.id, v.vmid, v.spec.SerializeAsString(),
              v.host, v.running, v.boots);
  }
  for (const auto& [op_id, op] : state.operations) {
    AddRecord(out, std::string("operation"), op_id, op.sequence, op.method,
              op.resource_id, op.response);
  }
  return out;
}

absl::StatusOr<ClusterState> ParseClusterState(absl::string_view text) {
  ClusterState state;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    for (absl::string_view raw : absl::StrSplit(line, '\t')) {
      std::string field;
      if (!absl::CUnescape(raw, &field)) {
        return Record(line_number, {}).Error("badly escaped field");
      }
      fields.push_back(std::move(field));
    }
    Record record(line_number, std::move(fields));
    if (line_number == 1) {
      if (record.kind() != kHeader || !record.Expect(2).ok() ||
          record.Str(1) != kVersion) {
        return record.Error(
            absl::StrCat("not a version ", kVersion, " proxkvm state file"));
      }
      continue;
    }
    PROX_RETURN_IF_ERROR(ParseRecord(record, state));
  }
  if (line_number > 0 && text.back() != '\n') {
    return Record(line_number, {}).Error("file is truncated");
  }
  return state;
}

absl::StatusOr<std::unique_ptr<ProxkvmStore>> ProxkvmStore::Open(
    const std::string& dir) {
  const std::string lock_path = dir + "/cluster.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open", lock_path);
  std::unique_ptr<ProxkvmStore> store(new ProxkvmStore(dir, fd));
  // Fail now, not at the first call, on an unreadable or corrupt state.
  PROX_RETURN_IF_ERROR(
      store->Read([](const ClusterState&) { return absl::OkStatus(); }));
  return store;
}

ProxkvmStore::ProxkvmStore(std::string dir, int lock_fd)
    : dir_(std::move(dir)),
      state_path_(dir_ + "/cluster.state"),
      lock_fd_(lock_fd) {}

ProxkvmStore::~ProxkvmStore() {
  absl::MutexLock lock(&mu_);
  close(lock_fd_);
}

absl::StatusOr<ClusterState> ProxkvmStore::LoadLocked() {
  int fd = open(state_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ClusterState();
    return ErrnoError("cannot open", state_path_);
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read", state_path_);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return ParseClusterState(text);
}

absl::Status ProxkvmStore::SaveLocked(const ClusterState& state) {
  const std::string text = SerializeClusterState(state);
  const std::string temp_path = state_path_ + ".tmp";
  int fd =
      open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", temp_path);
  absl::Cleanup close_fd = [fd] { close(fd); };
  absl::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", temp_path);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) return ErrnoError("cannot sync", temp_path);
  if (rename(temp_path.c_str(), state_path_.c_str()) != 0) {
    return ErrnoError("cannot replace", state_path_);
  }
  // Make the rename itself durable.
  int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

absl::Status ProxkvmStore::Update(
    absl::FunctionRef<absl::Status(ClusterState&)> mutate) {
  absl::MutexLock lock(&mu_);
  if (flock(lock_fd_, LOCK_EX) != 0) {
    return ErrnoError("cannot lock", dir_ + "/cluster.lock");
  }
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<ClusterState> state = LoadLocked();
  if (!state.ok()) return state.status();
  PROX_RETURN_IF_ERROR(mutate(*state));
  return SaveLocked(*state);
}

absl::Status ProxkvmStore::Read(
    absl::FunctionRef<absl::Status(const ClusterState&)> read) {
  absl::MutexLock lock(&mu_);
  if (flock(lock_fd_, LOCK_SH) != 0) {
    return ErrnoError("cannot lock", dir_ + "/cluster.lock");
  }
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<ClusterState> state = LoadLocked();
  if (!state.ok()) return state.status();
  return read(*state);
}

}  // namespace pitstop::proxkvm
