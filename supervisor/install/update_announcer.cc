#include "supervisor/install/update_announcer.h"

#include "absl/strings/str_cat.h"
#include "supervisor/common/logging.h"

namespace pitstop {

std::map<std::string, std::string> UpdateAnnouncer::InstalledVersions() {
  std::map<std::string, std::string> installed;
  for (const DriverStatus& s : supervisor_.List()) {
    installed[s.package->manifest.name] =
        s.package->manifest.version.ToString();
  }
  return installed;
}

std::vector<AvailableUpdate> UpdateAnnouncer::Updates() {
  std::vector<AvailableUpdate> updates =
      repositories_.Updates(InstalledVersions());
  Announce(updates);
  return updates;
}

void UpdateAnnouncer::Check() {
  if (absl::Status s = repositories_.Refresh(); !s.ok()) {
    LogWarning("pitstopd", s.message());
  }
  (void)Updates();
}

void UpdateAnnouncer::Announce(const std::vector<AvailableUpdate>& updates) {
  for (const AvailableUpdate& u : updates) {
    {
      absl::MutexLock lock(&mu_);
      if (!announced_.insert(absl::StrCat(u.name, " ", u.available_version))
               .second) {
        continue;
      }
    }
    DriverEvent e;
    e.driver = u.name;
    e.kind = "update-available";
    e.reason = absl::StrCat(u.name, " ", u.available_version,
                            " is available from repository ", u.repository,
                            " (installed: ", u.installed_version, ")");
    auto current = supervisor_.Get(u.name);
    if (current.ok()) e.from = e.to = current->state;
    events_.Append(std::move(e));
  }
}

void UpdateAnnouncer::Start(absl::Duration interval) {
  thread_ = std::thread([this, interval] {
    do {
      Check();
    } while (!stop_.WaitForNotificationWithTimeout(interval));
  });
}

void UpdateAnnouncer::Stop() {
  if (!thread_.joinable()) return;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  thread_.join();
}

}  // namespace pitstop
