// `pitstop top`: what every driver is doing, refreshed on a terminal like
// top(1); one table (or JSON) when the output is not a terminal.

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "supervisor/cli/cli_json.h"
#include "supervisor/cli/commands/commands.h"
#include "supervisor/cli/stats_text.h"

namespace pitstop {
namespace {

namespace sv1 = pitstop::supervisor::v1;
using Stub = AdminClient::Stub;

volatile std::sig_atomic_t g_quit = 0;
void OnQuitSignal(int) { g_quit = 1; }

// The terminal in the state top needs: the alternate screen, no cursor,
// keys read one at a time without echo; restored when this goes.
class LiveTerminal {
 public:
  explicit LiveTerminal(std::ostream& out) : out_(out) {
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      keys_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    struct sigaction sa = {};
    sa.sa_handler = OnQuitSignal;
    ::sigaction(SIGINT, &sa, &saved_int_);
    ::sigaction(SIGTERM, &sa, &saved_term_);
    out_ << "\x1b[?1049h\x1b[?25l" << std::flush;
  }
  ~LiveTerminal() {
    out_ << "\x1b[?25h\x1b[?1049l" << std::flush;
    if (keys_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    ::sigaction(SIGINT, &saved_int_, nullptr);
    ::sigaction(SIGTERM, &saved_term_, nullptr);
  }

  // Replaces the screen with `text`, each line cut to the terminal's width.
  void Draw(const std::string& text) {
    winsize ws = {};
    const size_t columns =
        ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0
            ? ws.ws_col
            : 200;
    std::string frame = "\x1b[H";
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      absl::StrAppend(&frame, Cut(line, columns), "\x1b[K\n");
    }
    frame += "\x1b[J";
    out_ << frame << std::flush;
  }

  // Waits up to `timeout` for a key; true when it is time to quit (q, a
  // signal).
  bool WaitForQuit(absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (!g_quit) {
      const absl::Duration left = until - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      pollfd p = {STDIN_FILENO, POLLIN, 0};
      const int ready =
          ::poll(keys_ ? &p : nullptr, keys_ ? 1 : 0,
                 static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready > 0 && (p.revents & POLLIN) != 0) {
        char c = 0;
        if (::read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q')) {
          return true;
        }
        if (c == 0) keys_ = false;  // end of input: no more keys
      }
    }
    return true;
  }

 private:
  // The first `columns` code points of `line`.
  static std::string Cut(absl::string_view line, size_t columns) {
    size_t n = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;
      if (n++ == columns) return std::string(line.substr(0, i));
    }
    return std::string(line);
  }

  std::ostream& out_;
  termios saved_ = {};
  bool keys_ = false;
  struct sigaction saved_int_ = {};
  struct sigaction saved_term_ = {};
};

class TopCommand : public Command {
 public:
  void Define(CLI::App& cmd) override {
    cmd.add_option("--interval", interval_seconds_,
                   "seconds between refreshes (default 2)")
        ->check(CLI::Range(0.2, 3600.0));
    cmd.add_option("--window", window_seconds_,
                   "seconds the rates and latencies are over, 1 to 300 "
                   "(default 10)")
        ->check(CLI::Range(1, 300));
    cmd.add_flag("--once", once_,
                 "print one table and exit (what happens anyway when the "
                 "output is not a terminal)");
  }

  int Run(const CommandContext& c) override {
    AdminClient client(c.global);
    if (c.output.json() || once_ || !::isatty(STDOUT_FILENO)) {
      return Once(client, c.output);
    }
    LiveTerminal terminal(c.output.out());
    do {
      terminal.Draw(Frame(client, c.global.address));
    } while (!terminal.WaitForQuit(absl::Seconds(interval_seconds_)));
    return 0;
  }

 private:
  grpc::Status Fetch(AdminClient& client, sv1::ListDriversResponse* drivers,
                     sv1::GetDriverStatsResponse* stats) const {
    grpc::Status s = client.TryCall(&Stub::ListDrivers, {}, drivers);
    if (!s.ok()) return s;
    sv1::GetDriverStatsRequest request;
    request.set_window_seconds(window_seconds_);
    return client.TryCall(&Stub::GetDriverStats, request, stats);
  }

  int Once(AdminClient& client, const Output& output) const {
    sv1::ListDriversResponse drivers;
    sv1::GetDriverStatsResponse stats;
    const grpc::Status s = Fetch(client, &drivers, &stats);
    if (!s.ok()) return client.Fail(s);
    if (output.json()) {
      output.Message(stats);
    } else {
      output.Table(TopRows(drivers, stats));
    }
    return 0;
  }

  // One screen: a title line, then the table or why there is none (top
  // keeps trying through a restart of the daemon).
  std::string Frame(AdminClient& client, const std::string& address) const {
    sv1::ListDriversResponse drivers;
    sv1::GetDriverStatsResponse stats;
    const grpc::Status s = Fetch(client, &drivers, &stats);
    std::ostringstream text;
    text << "pitstop top  " << address << "  "
         << absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone())
         << "  calls over the last " << window_seconds_ << "s, every "
         << interval_seconds_ << "s  (q quits)\n\n";
    if (!s.ok()) {
      text << "cannot reach pitstopd: " << s.error_message()
           << "\n(trying again)\n";
    } else {
      text << FormatTable(TopRows(drivers, stats));
      if (!stats.counting()) {
        text << "\ncalls are not counted: count_calls is false in "
                "pitstopd.yaml\n";
      }
    }
    return text.str();
  }

  double interval_seconds_ = 2;
  int window_seconds_ = 10;
  bool once_ = false;
};

}  // namespace

std::vector<CommandSpec> TopCommands() {
  return {{"", "top",
           "what every driver is doing: calls/s, errors, latency, memory, "
           "refreshed live on a terminal",
           TakesOutput::kYes, Make<TopCommand>()}};
}

}  // namespace pitstop
