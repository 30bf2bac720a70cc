#include "bench/upgrade_steps.h"

#include "absl/strings/str_cat.h"

namespace pitstop::bench {

std::string RecorderCarPath(int major) {
  return absl::StrCat(RECORDER_CARS_DIR, "/recorder-", major, "/recorder-",
                      major, ".car");
}

uint64_t StartUpgrade(Daemon& daemon, const std::string& car,
                      absl::Duration probation, const sv1::CanaryPlan* canary) {
  sv1::UpgradeDriverRequest req;
  req.set_name("recorder");
  req.set_car(ReadFile(car));
  req.set_probation_ms(absl::ToInt64Milliseconds(probation));
  if (canary != nullptr) *req.mutable_canary() = *canary;
  sv1::UpgradeDriverResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = daemon.admin().UpgradeDriver(&ctx, req, &resp);
  if (!st.ok()) {
    std::cerr << "pitstop-bench: upgrade to " << car
              << " failed: " << st.error_message() << "\n";
    std::exit(1);
  }
  return resp.started_sequence() - 1;
}

std::vector<TimedEvent> FollowEvents(Daemon& daemon, const std::string& driver,
                                     uint64_t since,
                                     const std::set<std::string>& last) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
  sv1::WatchEventsRequest req;
  req.set_driver(driver);
  req.set_follow(true);
  req.set_since_sequence(since);
  auto reader = daemon.admin().WatchEvents(&ctx, req);
  std::vector<TimedEvent> events;
  sv1::Event e;
  while (reader->Read(&e)) {
    events.push_back({e.kind(), e.reason(),
                      absl::FromUnixSeconds(e.time().seconds()) +
                          absl::Nanoseconds(e.time().nanos())});
    if (last.count(e.kind())) {
      ctx.TryCancel();
      break;
    }
  }
  (void)reader->Finish();
  return events;
}

std::map<std::string, absl::Time> FirstByKind(
    const std::vector<TimedEvent>& events) {
  std::map<std::string, absl::Time> first;
  for (const TimedEvent& e : events) first.emplace(e.kind, e.time);
  return first;
}

}  // namespace pitstop::bench
