#include "supervisor/sandbox/driver_uids.h"

#include <set>

#include "absl/strings/string_view.h"

namespace pitstop {
namespace {

uint32_t Fnv1a(absl::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

}  // namespace

uint32_t DriverUids::For(const std::string& driver) {
  absl::MutexLock lock(&mu_);
  auto it = uids_.find(driver);
  if (it != uids_.end()) return it->second;
  uint32_t index = Fnv1a(driver) % count_;
  std::set<uint32_t> used;
  for (const auto& [name, uid] : uids_) used.insert(uid);
  for (uint32_t i = 0; i < count_ && used.count(base_ + index); ++i) {
    index = (index + 1) % count_;
  }
  const uint32_t uid = base_ + index;
  uids_[driver] = uid;
  return uid;
}

}  // namespace pitstop
