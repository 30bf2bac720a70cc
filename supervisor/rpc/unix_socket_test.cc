#include "supervisor/rpc/unix_socket.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>

namespace pitstop {
namespace {

namespace fs = std::filesystem;

TEST_CASE(
    "a Unix socket accepts connections only once it listens, not while it is "
    "missing or only bound",
    "[rpc]") {
  std::string t = (fs::temp_directory_path() / "unix-XXXXXX").string();
  const std::string dir = ::mkdtemp(t.data());
  const std::string path = dir + "/s.sock";
  CHECK_FALSE(UnixSocketAcceptsConnections(path));
  CHECK(ConnectUnixSocket(path) == -1);
  CHECK(errno == ENOENT);

  sockaddr_un addr;
  REQUIRE(UnixAddress(path, &addr));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  CHECK_FALSE(UnixSocketAcceptsConnections(path));
  REQUIRE(::listen(fd, 4) == 0);
  CHECK(UnixSocketAcceptsConnections(path));
  const int client = ConnectUnixSocket(path);
  CHECK(client >= 0);
  ::close(client);
  ::close(fd);
  fs::remove_all(dir);
}

TEST_CASE("a path too long for sun_path is refused", "[rpc]") {
  const std::string path = "/tmp/" + std::string(200, 'x');
  sockaddr_un addr;
  CHECK_FALSE(UnixAddress(path, &addr));
  CHECK(ConnectUnixSocket(path) == -1);
  CHECK(errno == ENAMETOOLONG);
  CHECK_FALSE(UnixSocketAcceptsConnections(path));
}

}  // namespace
}  // namespace pitstop
