#include "flashpool_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pitstop::flashpool {
namespace {

constexpr char kHeader[] = "flashpool-state";
constexpr char kVersion[] = "1";

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ",
                                             std::strerror(errno),
                                             "; check the state directory"));
}

// Writes one record: each field C-escaped, tab separated.
class RecordWriter {
 public:
  template <typename... Fields>
  void Add(const Fields&... fields) {
    std::vector<std::string> escaped = {absl::CEscape(ToString(fields))...};
    absl::StrAppend(&out_, absl::StrJoin(escaped, "\t"), "\n");
  }
  std::string Take() { return std::move(out_); }

 private:
  static std::string ToString(absl::string_view s) { return std::string(s); }
  static std::string ToString(const std::string& s) { return s; }
  static std::string ToString(const char* s) { return s; }
  static std::string ToString(uint64_t n) { return absl::StrCat(n); }
  static std::string ToString(bool b) { return b ? "1" : "0"; }
  std::string out_;
};

// Reads the fields of one record.
class RecordReader {
 public:
  RecordReader(int line, std::vector<std::string> fields)
      : line_(line), fields_(std::move(fields)) {}

  absl::Status Expect(size_t count) const {
    if (fields_.size() != count) {
      return Error(
          absl::StrCat("expected ", count, " fields, got ", fields_.size()));
    }
    return absl::OkStatus();
  }
  const std::string& Str(size_t i) const { return fields_[i]; }
  absl::Status Uint(size_t i, uint64_t* out) const {
    if (!absl::SimpleAtoi(fields_[i], out)) {
      return Error(absl::StrCat("field ", i, " is not a number"));
    }
    return absl::OkStatus();
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
        "flashpool state line ", line_, ": ", what,
        "; restore the state directory from a backup or remove it"));
  }

 private:
  int line_;
  std::vector<std::string> fields_;
};

#define FLASHPOOL_RETURN_IF_ERROR(expr) \
  do {                                  \
    absl::Status status_ = (expr);      \
    if (!status_.ok()) return status_;  \
  } while (false)

absl::Status ParseRecord(const RecordReader& r, const std::string& kind,
                         ArrayState& state) {
  if (kind == "next") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(3));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(1, &state.next_vendor_id));
    return r.Uint(2, &state.next_operation_sequence);
  }
  if (kind == "pool") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(11));
    PoolRecord p;
    p.id = r.Str(1);
    p.name = r.Str(2);
    p.url = r.Str(3);
    p.zone = r.Str(4);
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(5, &p.capacity_bytes));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(6, &p.capacity_iops));
    FLASHPOOL_RETURN_IF_ERROR(r.Bool(7, &p.maintenance));
    p.scope = r.Str(8);
    p.scope_id = r.Str(9);
    p.hypervisor = r.Str(10);
    state.pools[p.id] = std::move(p);
    return absl::OkStatus();
  }
  if (kind == "pool_tag") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(3));
    auto it = state.pools.find(r.Str(1));
    if (it == state.pools.end()) return r.Error("tag of an unknown pool");
    it->second.tags.push_back(r.Str(2));
    return absl::OkStatus();
  }
  if (kind == "volume") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(10));
    VolumeRecord v;
    v.id = r.Str(1);
    v.pool_id = r.Str(2);
    v.name = r.Str(3);
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(4, &v.vendor_id));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(5, &v.size_bytes));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(6, &v.min_iops));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(7, &v.max_iops));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(8, &v.burst_iops));
    v.source_snapshot_id = r.Str(9);
    state.volumes[v.id] = std::move(v);
    return absl::OkStatus();
  }
  if (kind == "grant") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(4));
    auto it = state.volumes.find(r.Str(1));
    if (it == state.volumes.end()) return r.Error("grant on an unknown volume");
    it->second.grants.emplace(r.Str(2), r.Str(3));
    return absl::OkStatus();
  }
  if (kind == "snapshot") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(7));
    SnapshotRecord s;
    s.id = r.Str(1);
    s.volume_id = r.Str(2);
    s.pool_id = r.Str(3);
    s.name = r.Str(4);
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(5, &s.vendor_id));
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(6, &s.size_bytes));
    state.snapshots[s.id] = std::move(s);
    return absl::OkStatus();
  }
  if (kind == "operation") {
    FLASHPOOL_RETURN_IF_ERROR(r.Expect(6));
    CompletedOperation op;
    FLASHPOOL_RETURN_IF_ERROR(r.Uint(2, &op.sequence));
    op.method = r.Str(3);
    op.resource_id = r.Str(4);
    op.response = r.Str(5);
    state.operations[r.Str(1)] = std::move(op);
    return absl::OkStatus();
  }
  return r.Error(absl::StrCat("unknown record '", kind, "'"));
}

}  // namespace

std::string SerializeArrayState(const ArrayState& state) {
  RecordWriter w;
  w.Add(kHeader, kVersion);
  w.Add("next", state.next_vendor_id, state.next_operation_sequence);
  for (const auto& [id, p] : state.pools) {
    w.Add("pool", p.id, p.name, p.url, p.zone, p.capacity_bytes,
          p.capacity_iops, p.maintenance, p.scope, p.scope_id, p.hypervisor);
    for (const std::string& tag : p.tags) w.Add("pool_tag", p.id, tag);
  }
  for (const auto& [id, v] : state.volumes) {
    w.Add("volume", v.id, v.pool_id, v.name, v.vendor_id, v.size_bytes,
          v.min_iops, v.max_iops, v.burst_iops, v.source_snapshot_id);
    for (const auto& [host, initiator] : v.grants) {
      w.Add("grant", v.id, host, initiator);
    }
  }
  for (const auto& [id, s] : state.snapshots) {
    w.Add("snapshot", s.id, s.volume_id, s.pool_id, s.name, s.vendor_id,
          s.size_bytes);
  }
  for (const auto& [op_id, op] : state.operations) {
    w.Add("operation", op_id, op.sequence, op.method, op.resource_id,
          op.response);
  }
  return w.Take();
}

absl::StatusOr<ArrayState> ParseArrayState(absl::string_view text) {
  ArrayState state;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    for (absl::string_view raw : absl::StrSplit(line, '\t')) {
      std::string field;
      if (!absl::CUnescape(raw, &field)) {
        return RecordReader(line_number, {}).Error("badly escaped field");
      }
      fields.push_back(std::move(field));
    }
    const std::string kind = fields[0];
    RecordReader reader(line_number, std::move(fields));
    if (line_number == 1) {
      if (kind != kHeader || reader.Expect(2).ok() == false ||
          reader.Str(1) != kVersion) {
        return reader.Error(
            absl::StrCat("not a version ", kVersion, " flashpool state file"));
      }
      continue;
    }
    FLASHPOOL_RETURN_IF_ERROR(ParseRecord(reader, kind, state));
  }
  if (line_number > 0 && text.back() != '\n') {
    return RecordReader(line_number, {}).Error("file is truncated");
  }
  return state;
}

absl::StatusOr<std::unique_ptr<FlashpoolStore>> FlashpoolStore::Open(
    const std::string& dir) {
  const std::string lock_path = dir + "/array.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open", lock_path);
  std::unique_ptr<FlashpoolStore> store(new FlashpoolStore(dir, fd));
  absl::Status status = store->Update([](ArrayState& state) {
    if (!state.pools.count(kDefaultPoolId)) {
      PoolRecord pool;
      pool.id = kDefaultPoolId;
      pool.name = "Built-in default pool";
      pool.capacity_bytes = kDefaultPoolCapacityBytes;
      state.pools[pool.id] = pool;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return store;
}

FlashpoolStore::FlashpoolStore(std::string dir, int lock_fd)
    : dir_(std::move(dir)),
      state_path_(dir_ + "/array.state"),
      lock_fd_(lock_fd) {}

FlashpoolStore::~FlashpoolStore() {
  absl::MutexLock lock(&mu_);
  close(lock_fd_);
}

absl::StatusOr<ArrayState> FlashpoolStore::LoadLocked() {
  int fd = open(state_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ArrayState();
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
  return ParseArrayState(text);
}

absl::Status FlashpoolStore::SaveLocked(const ArrayState& state) {
  const std::string text = SerializeArrayState(state);
  const std::string temp_path = state_path_ + ".tmp";
  int fd =
      open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", temp_path);
  absl::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = ErrnoError("cannot write", temp_path);
      close(fd);
      return error;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) {
    absl::Status error = ErrnoError("cannot sync", temp_path);
    close(fd);
    return error;
  }
  close(fd);
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

absl::Status FlashpoolStore::Update(
    absl::FunctionRef<absl::Status(ArrayState&)> mutate) {
  absl::MutexLock lock(&mu_);
  if (flock(lock_fd_, LOCK_EX) != 0) {
    return ErrnoError("cannot lock", dir_ + "/array.lock");
  }
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<ArrayState> state = LoadLocked();
  if (!state.ok()) return state.status();
  FLASHPOOL_RETURN_IF_ERROR(mutate(*state));
  return SaveLocked(*state);
}

absl::Status FlashpoolStore::Read(
    absl::FunctionRef<void(const ArrayState&)> read) {
  absl::MutexLock lock(&mu_);
  if (flock(lock_fd_, LOCK_SH) != 0) {
    return ErrnoError("cannot lock", dir_ + "/array.lock");
  }
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<ArrayState> state = LoadLocked();
  if (!state.ok()) return state.status();
  read(*state);
  return absl::OkStatus();
}

}  // namespace pitstop::flashpool
