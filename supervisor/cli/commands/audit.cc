// `pitstop audit` and `pitstop audit verify`: who changed what, and whether
// the trail is as it was written (docs/security.md, "Audit trail").

#include <google/protobuf/util/time_util.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "supervisor/cli/commands/commands.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
namespace pb = google::protobuf;
using Stub = AdminClient::Stub;

class AuditCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("what", what_,
                   "verify: recompute the hash chain and name the first "
                   "record that does not match")
        ->check(CLI::IsMember({"verify"}));
    cmd.add_option("--after", after_,
                   "only records after this sequence number");
    cmd.add_option("--since", since_,
                   "only records from this time on: a duration ago (30m, "
                   "24h) or an RFC 3339 time (2026-12-03T14:00:00Z)");
    cmd.add_flag("--follow,-f", follow_,
                 "then wait for new records and print them as they come, "
                 "until interrupted");
  }

  int Run(const CommandContext& c) override {
    absl::Time since = absl::InfinitePast();
    if (!since_.empty() && !ParseSince(since_, &since)) {
      return Error(
          absl::StrCat("--since '", since_,
                       "': write a duration ago (30m, 24h) or an RFC 3339 time "
                       "(2026-12-03T14:00:00Z)"));
    }
    AdminClient client(c.global);
    if (what_ == "verify") return Verify(client, c);
    // Page by page: one answer holds at most 1000 records; following, a
    // short answer is followed by a pause and the next page.
    for (int64_t after = after_;;) {
      sv1::ListAuditRequest request;
      request.set_after_sequence(after);
      sv1::ListAuditResponse response;
      if (!client.Call(&Stub::ListAudit, request, &response)) {
        return kExitFailure;
      }
      for (const sv1::AuditRecord& r : response.records()) {
        after = r.sequence();
        if (absl::FromUnixSeconds(r.time().seconds()) +
                absl::Nanoseconds(r.time().nanos()) <
            since) {
          continue;
        }
        if (c.output.json()) {
          c.output.MessageLine(r);
        } else {
          c.output.out() << r.sequence() << "  "
                         << pb::util::TimeUtil::ToString(r.time()) << "  "
                         << r.actor() << "  " << r.action() << "  "
                         << r.arguments() << "  "
                         << (r.code() == 0 ? std::string("OK")
                                           : absl::StrCat("code ", r.code(),
                                                          ": ", r.message()))
                         << "\n";
        }
      }
      if (response.records_size() < 1000) {
        if (!follow_) return 0;
        c.output.out().flush();
        absl::SleepFor(absl::Milliseconds(500));
      }
    }
  }

 private:
  int Verify(AdminClient& client, const CommandContext& c) {
    sv1::VerifyAuditResponse response;
    if (!client.Call(&Stub::VerifyAudit, {}, &response)) return kExitFailure;
    if (c.output.json()) {
      c.output.MessageLine(response);
    } else if (response.intact()) {
      c.output.out() << "audit trail intact: " << response.records()
                     << " records, last hash " << response.last_hash() << "\n";
    } else {
      std::cerr << "pitstop: audit trail broken at record "
                << response.first_bad_sequence() << ": " << response.reason()
                << " (" << response.records()
                << " records before it are intact)\n";
    }
    return response.intact() ? 0 : kExitFailure;
  }

  static bool ParseSince(const std::string& text, absl::Time* since) {
    absl::Duration ago;
    if (absl::ParseDuration(text, &ago) && ago >= absl::ZeroDuration()) {
      *since = absl::Now() - ago;
      return true;
    }
    std::string error;
    return absl::ParseTime(absl::RFC3339_full, text, since, &error);
  }

  std::string what_;
  int64_t after_ = 0;
  std::string since_;
  bool follow_ = false;
};

}  // namespace

std::vector<CommandSpec> AuditCommands() {
  return {
      {"", "audit",
       "who changed what, from the audit trail; `audit verify` checks its "
       "hash chain",
       TakesOutput::kYes, Make<AuditCommand>()},
  };
}

}  // namespace pitstop
