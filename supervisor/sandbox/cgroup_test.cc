// The cgroup code on a directory laid out like the cgroup file systems: the
// host here has cgroup v1 only, so v2 is exercised on files that behave the
// same for what this code does (mkdir, write a value, read a counter). The
// real v1 hierarchy is exercised by sandbox_profile_test.

#include "supervisor/sandbox/cgroup.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pitstop {
namespace {

namespace fs = std::filesystem;

struct FakeCgroupFs {
  FakeCgroupFs() {
    char tmpl[] = "/tmp/pitstop-cgroup-test-XXXXXX";
    root = ::mkdtemp(tmpl);
  }
  ~FakeCgroupFs() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories(fs::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel) << text;
  }
  std::string Read(const std::string& rel) {
    std::ifstream in(root + "/" + rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string root;
};

TEST_CASE("cgroup v2 is used when the unified hierarchy has memory and pids",
          "[cgroup]") {
  FakeCgroupFs f;
  f.Write("cgroup.controllers", "cpuset cpu io memory pids\n");
  f.Write("cgroup.subtree_control", "");
  CgroupSupport s = DetectCgroups(f.root);
  REQUIRE(s.version == CgroupVersion::kV2);
  REQUIRE(s.roots == std::vector<std::string>{f.root + "/pitstop"});
  CHECK(f.Read("pitstop/cgroup.subtree_control") == "+memory +pids");

  auto g = InstanceCgroup::Create(s, "flashpool", "812-3", 256 << 20, 64);
  REQUIRE(g.ok());
  CHECK(g->Describe() == "v2 pitstop/flashpool/812-3");
  CHECK(f.Read("pitstop/flashpool/812-3/memory.max") ==
        std::to_string(256 << 20));
  CHECK(f.Read("pitstop/flashpool/812-3/pids.max") == "64");
  CHECK_FALSE(g->OomKilled());
  f.Write("pitstop/flashpool/812-3/memory.events",
          "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
  CHECK(g->OomKilled());
}

TEST_CASE("cgroup v1 needs the memory and pids hierarchies", "[cgroup]") {
  FakeCgroupFs f;
  CgroupSupport none = DetectCgroups(f.root);
  CHECK(none.version == CgroupVersion::kNone);
  CHECK(none.why_not.find("no cgroup v2") != std::string::npos);

  f.Write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  f.Write("pids/cgroup.procs", "");
  CgroupSupport s = DetectCgroups(f.root);
  REQUIRE(s.version == CgroupVersion::kV1);
  auto g = InstanceCgroup::Create(s, "nvpnet", "900-1", 128 << 20, 32);
  REQUIRE(g.ok());
  CHECK(g->Describe() == "v1 pitstop/nvpnet/900-1");
  CHECK(f.Read("memory/pitstop/nvpnet/900-1/memory.limit_in_bytes") ==
        std::to_string(128 << 20));
  CHECK(f.Read("pids/pitstop/nvpnet/900-1/pids.max") == "32");
  f.Write("memory/pitstop/nvpnet/900-1/memory.oom_control",
          "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  CHECK_FALSE(g->OomKilled());
  f.Write("memory/pitstop/nvpnet/900-1/memory.oom_control",
          "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  CHECK(g->OomKilled());
}

TEST_CASE("groups of daemons that no longer run are removed", "[cgroup]") {
  FakeCgroupFs f;
  f.Write("memory/memory.limit_in_bytes", "0");
  f.Write("pids/cgroup.procs", "");
  CgroupSupport s = DetectCgroups(f.root);
  REQUIRE(s.version == CgroupVersion::kV1);
  // A pid that cannot exist, and this process (alive).
  const std::string dead = "memory/pitstop/iscsi-base/2147483000-4";
  const std::string live =
      "memory/pitstop/iscsi-base/" + std::to_string(::getpid()) + "-5";
  fs::create_directories(f.root + "/" + dead);
  fs::create_directories(f.root + "/" + live);
  RemoveStaleCgroups(s);
  CHECK_FALSE(fs::exists(f.root + "/" + dead));
  CHECK(fs::exists(f.root + "/" + live));
}

}  // namespace
}  // namespace pitstop
