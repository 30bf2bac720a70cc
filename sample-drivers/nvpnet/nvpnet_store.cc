#include "nvpnet_store.h"

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

namespace pitstop::nvpnet {
namespace {

constexpr char kHeader[] = "nvpnet-state";
constexpr char kVersion[] = "1";

#define NVP_RETURN_IF_ERROR(expr)      \
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
        "nvpnet state line ", line_, ": ", what,
        "; restore the state directory from a backup or remove it"));
  }

 private:
  int line_;
  std::vector<std::string> fields_;
};

absl::StatusOr<SwitchRecord*> SwitchOf(const Record& r,
                                       ControllerState& state) {
  auto it = state.switches.find(r.Str(1));
  if (it == state.switches.end()) {
    return r.Error(absl::StrCat(r.kind(), " of an unknown network"));
  }
  return &it->second;
}

absl::Status ParseRecord(const Record& r, ControllerState& state) {
  const std::string& kind = r.kind();
  if (kind == "next") {
    NVP_RETURN_IF_ERROR(r.Expect(2));
    return r.Uint(1, &state.next_operation_sequence);
  }
  if (kind == "switch") {
    NVP_RETURN_IF_ERROR(r.Expect(11));
    SwitchRecord s;
    s.network_id = r.Str(1);
    s.switch_id = r.Str(2);
    s.cidr = r.Str(3);
    s.gateway = r.Str(4);
    s.broadcast_uri = r.Str(5);
    s.guest_type = r.Str(6);
    s.zone = r.Str(7);
    s.transport_zone = r.Str(8);
    NVP_RETURN_IF_ERROR(r.Bool(9, &s.up));
    NVP_RETURN_IF_ERROR(r.Uint(10, &s.rules_generation));
    state.switches[s.network_id] = std::move(s);
    return absl::OkStatus();
  }
  if (kind == "port") {
    NVP_RETURN_IF_ERROR(r.Expect(8));
    absl::StatusOr<SwitchRecord*> s = SwitchOf(r, state);
    if (!s.ok()) return s.status();
    PortRecord p{r.Str(2), r.Str(3), r.Str(4), r.Str(5), r.Str(6), r.Str(7)};
    (*s)->ports[p.nic_id] = std::move(p);
    return absl::OkStatus();
  }
  if (kind == "ip") {
    NVP_RETURN_IF_ERROR(r.Expect(7));
    absl::StatusOr<SwitchRecord*> s = SwitchOf(r, state);
    if (!s.ok()) return s.status();
    PublicIpRecord ip{r.Str(2), r.Str(3), r.Str(4), r.Str(5)};
    NVP_RETURN_IF_ERROR(r.Bool(6, &ip.source_nat));
    (*s)->ips[ip.ip] = std::move(ip);
    return absl::OkStatus();
  }
  if (kind == "rule") {
    NVP_RETURN_IF_ERROR(r.Expect(3));
    absl::StatusOr<SwitchRecord*> s = SwitchOf(r, state);
    if (!s.ok()) return s.status();
    pitstop::driver::v1::Rule rule;
    if (!rule.ParseFromString(r.Str(2))) return r.Error("corrupt rule");
    (*s)->rules.push_back(std::move(rule));
    return absl::OkStatus();
  }
  if (kind == "operation") {
    NVP_RETURN_IF_ERROR(r.Expect(6));
    CompletedOperation op;
    NVP_RETURN_IF_ERROR(r.Uint(2, &op.sequence));
    op.method = r.Str(3);
    op.resource_id = r.Str(4);
    op.response = r.Str(5);
    state.operations[r.Str(1)] = std::move(op);
    return absl::OkStatus();
  }
  return r.Error(absl::StrCat("unknown record '", kind, "'"));
}

}  // namespace

std::string SerializeControllerState(const ControllerState& state) {
  std::string out;
  AddRecord(out, std::string(kHeader), std::string(kVersion));
  AddRecord(out, std::string("next"), state.next_operation_sequence);
  for (const auto& [id, s] : state.switches) {
    AddRecord(out, std::string("switch"), s.network_id, s.switch_id, s.cidr,
              s.gateway, s.broadcast_uri, s.guest_type, s.zone,
              s.transport_zone, s.up, s.rules_generation);
    for (const auto& [nic_id, p] : s.ports) {
      AddRecord(out, std::string("port"), s.network_id, p.nic_id, p.port_id,
                p.mac, p.ip, p.vm_id, p.vm_name);
    }
    for (const auto& [ip_text, ip] : s.ips) {
      AddRecord(out, std::string("ip"), s.network_id, ip.ip, ip.cidr, ip.vlan,
                ip.gateway, ip.source_nat);
    }
    for (const pitstop::driver::v1::Rule& rule : s.rules) {
      AddRecord(out, std::string("rule"), s.network_id,
                rule.SerializeAsString());
    }
  }
  for (const auto& [op_id, op] : state.operations) {
    AddRecord(out, std::string("operation"), op_id, op.sequence, op.method,
              op.resource_id, op.response);
  }
  return out;
}

absl::StatusOr<ControllerState> ParseControllerState(absl::string_view text) {
  ControllerState state;
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
            absl::StrCat("not a version ", kVersion, " nvpnet state file"));
      }
      continue;
    }
    NVP_RETURN_IF_ERROR(ParseRecord(record, state));
  }
  if (line_number > 0 && text.back() != '\n') {
    return Record(line_number, {}).Error("file is truncated");
  }
  return state;
}

absl::StatusOr<std::unique_ptr<NvpnetStore>> NvpnetStore::Open(
    const std::string& dir) {
  const std::string lock_path = dir + "/controller.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open", lock_path);
  std::unique_ptr<NvpnetStore> store(new NvpnetStore(dir, fd));
  // Fail now, not at the first call, on an unreadable or corrupt state.
  NVP_RETURN_IF_ERROR(
      store->Read([](const ControllerState&) { return absl::OkStatus(); }));
  return store;
}

NvpnetStore::NvpnetStore(std::string dir, int lock_fd)
    : dir_(std::move(dir)),
      state_path_(dir_ + "/controller.state"),
      lock_fd_(lock_fd) {}

NvpnetStore::~NvpnetStore() {
  absl::MutexLock lock(&mu_);
  close(lock_fd_);
}

absl::StatusOr<ControllerState> NvpnetStore::LoadLocked() {
  int fd = open(state_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ControllerState();
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
  return ParseControllerState(text);
}

absl::Status NvpnetStore::SaveLocked(const ControllerState& state) {
  const std::string text = SerializeControllerState(state);
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

absl::Status NvpnetStore::Update(
    absl::FunctionRef<absl::Status(ControllerState&)> mutate) {
  absl::MutexLock lock(&mu_);
  if (flock(lock_fd_, LOCK_EX) != 0) {
    return ErrnoError("cannot lock", dir_ + "/controller.lock");
  }
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<ControllerState> state = LoadLocked();
  if (!state.ok()) return state.status();
  NVP_RETURN_IF_ERROR(mutate(*state));
  return SaveLocked(*state);
}

absl::Status NvpnetStore::Read(
    absl::FunctionRef<absl::Status(const ControllerState&)> read) {
  absl::MutexLock lock(&mu_);
  if (flock(lock_fd_, LOCK_SH) != 0) {
    return ErrnoError("cannot lock", dir_ + "/controller.lock");
  }
  absl::Cleanup unlock = [fd = lock_fd_] { flock(fd, LOCK_UN); };
  absl::StatusOr<ControllerState> state = LoadLocked();
  if (!state.ok()) return state.status();
  return read(*state);
}

}  // namespace pitstop::nvpnet
