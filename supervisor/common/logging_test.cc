#include "supervisor/common/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

TEST_CASE("log lines quote values that need it and keep one event a line",
          "[common]") {
  std::string line = FormatLogLine(LogLevel::kWarning, "driver", "two\nlines",
                                   {{"driver", "flashpool"}, {"path", "a b"}});
  REQUIRE(line.find(" level=warning source=driver driver=flashpool "
                    "path=\"a b\" msg=\"two\\nlines\"\n") != std::string::npos);
  REQUIRE(line.find('\n') == line.size() - 1);
}

TEST_CASE("json log lines carry the same fields, escaped, one object a line",
          "[common]") {
  SetLogFormat(LogFormat::kJson);
  const std::string line =
      FormatLogLine(LogLevel::kWarning, "driver", "two\nlines \"q\" \x01",
                    {{"driver", "flashpool"}, {"path", "a b"}});
  SetLogFormat(LogFormat::kLogfmt);
  INFO(line);
  REQUIRE(line.rfind("{\"time\":\"", 0) == 0);
  REQUIRE(line.find("\",\"level\":\"warning\",\"source\":\"driver\","
                    "\"driver\":\"flashpool\",\"path\":\"a b\","
                    "\"msg\":\"two\\nlines \\\"q\\\" \\u0001\"}\n") !=
          std::string::npos);
  REQUIRE(line.find('\n') == line.size() - 1);
}

TEST_CASE("under journald each line starts with its syslog priority",
          "[common]") {
  SetSyslogPrefix(true);
  const std::string warning = FormatLogLine(LogLevel::kWarning, "s", "m", {});
  const std::string info = FormatLogLine(LogLevel::kInfo, "s", "m", {});
  SetSyslogPrefix(false);
  CHECK(warning.rfind("<4>", 0) == 0);
  CHECK(info.rfind("<6>", 0) == 0);
  CHECK(FormatLogLine(LogLevel::kError, "s", "m", {}).rfind("<", 0) ==
        std::string::npos);
}

TEST_CASE("JOURNAL_STREAM is honoured only for the stream it names",
          "[common]") {
  char path[] = "/tmp/pitstop-journal-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  struct stat st = {};
  REQUIRE(::fstat(fd, &st) == 0);
  const std::string mine = absl::StrCat(st.st_dev, ":", st.st_ino);
  CHECK(StreamIsJournal(mine.c_str(), fd));
  CHECK_FALSE(StreamIsJournal("1:2", fd));  // stderr redirected elsewhere
  CHECK_FALSE(StreamIsJournal(nullptr, fd));
  ::close(fd);
  ::unlink(path);
}

}  // namespace
}  // namespace pitstop
