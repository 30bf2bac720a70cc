// pitstop-load: keeps a routed driver busy from many callers until SIGINT or
// SIGTERM (or --seconds), then prints how many calls were made and failed,
// with latencies; exits 1 if any call failed. scripts/run-demo runs it while
// it upgrades a driver.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/load_generator.h"
#include "supervisor/cli/client_channel.h"

int main(int argc, char** argv) {
  CLI::App app{"pitstop-load: concurrent routed calls until interrupted"};
  std::string address;
  pitstop::LoadOptions options;
  std::vector<std::string> props;
  double seconds = 0;
  pitstop::ClientTls tls;
  app.add_option("--address", address, "pitstopd's address, e.g. unix:/path")
      ->required();
  app.add_option("--driver", options.driver, "the driver to call")->required();
  app.add_option("--method", options.method, "CreateVolume or GetStats")
      ->check(CLI::IsMember({"CreateVolume", "GetStats"}));
  app.add_option("--callers", options.callers, "concurrent callers");
  app.add_option("--resources", options.resources,
                 "volumes vol-0 .. vol-(N-1), each call on the next");
  app.add_option("--prop", props, "KEY=VALUE added to every call's bag");
  app.add_option("--seconds", seconds, "stop after this long (0: on SIGINT)");
  pitstop::AddTlsFlags(app, tls);
  CLI11_PARSE(app, argc, argv);
  for (const std::string& p : props) {
    std::pair<std::string, std::string> kv = absl::StrSplit(p, '=');
    if (kv.first.empty() || p.find('=') == std::string::npos) {
      std::cerr << "pitstop-load: --prop " << p << ": write KEY=VALUE\n";
      return 2;
    }
    options.properties[kv.first] = kv.second;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  options.channel = pitstop::MakeClientChannel(address, tls);
  pitstop::LoadGenerator load(options);
  const absl::Time start = absl::Now();
  load.Start();
  if (seconds > 0) {
    timespec wait{
        static_cast<time_t>(seconds),
        static_cast<long>((seconds - static_cast<time_t>(seconds)) * 1e9)};
    sigtimedwait(&signals, nullptr, &wait);
  } else {
    int received = 0;
    sigwait(&signals, &received);
  }
  load.Stop();
  pitstop::LoadSummary s =
      load.Summarize(absl::InfinitePast(), absl::InfiniteFuture());
  std::cout << s.calls << " calls from " << options.callers << " callers in "
            << absl::FormatDuration(
                   absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))
            << ", " << s.failed << " failed; p50 "
            << static_cast<int64_t>(s.p50_us) << " us, p99 "
            << static_cast<int64_t>(s.p99_us) << " us\n";
  for (const std::string& e : s.first_errors) {
    std::cout << "  failed: " << e << "\n";
  }
  return s.failed == 0 && s.calls > 0 ? 0 : 1;
}
