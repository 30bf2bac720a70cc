// PlanSandbox on its own: what a launch turns into, for hosts described by
// hand (no process is started; sandbox_profile_test runs the real thing).

#include <sched.h>
#include <sys/mount.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "supervisor/sandbox/sandbox_profile.h"

namespace pitstop {
namespace {

LaunchSpec DriverLaunch() {
  LaunchSpec spec;
  spec.executable = "/state/packages/webhook/1.0.0/bin/webhook-driver";
  spec.working_dir = "/state/data/webhook";
  spec.env = {"PITSTOP_SOCKET=/state/run/webhook/7/driver.sock",
              "PITSTOP_DRIVER_ROOT=/state/packages/webhook/1.0.0",
              "PITSTOP_STATE_DIR=/state/data/webhook",
              "LD_LIBRARY_PATH=/state/packages/webhook/1.0.0/lib",
              "HOME=/state/data/webhook",
              "LANG=C.UTF-8"};
  spec.sandbox.enabled = true;
  spec.sandbox.driver = "webhook";
  spec.sandbox.instance_id = 7;
  spec.sandbox.package_dir = "/state/packages/webhook/1.0.0";
  spec.sandbox.data_dir = "/state/data/webhook";
  spec.sandbox.socket_dir = "/state/run/webhook/7";
  spec.sandbox.memory_bytes = 64 << 20;
  spec.sandbox.pids = 16;
  spec.sandbox.open_files = 64;
  return spec;
}

// A host with namespaces and seccomp but no cgroups, not root (so nothing
// on disk is touched).
HostSandboxSupport Host() {
  HostSandboxSupport h;
  h.namespaces = true;
  h.seccomp = true;
  h.cgroups.why_not = "no cgroups in this test";
  return h;
}

TEST_CASE("paths in a launch are rewritten to the private root",
          "[sandbox-profile]") {
  const HostSandboxSupport host = Host();
  const std::vector<sock_filter> filter(3);
  SandboxContext ctx;
  ctx.host = &host;
  ctx.root_mount = "/state/sandbox/root";
  ctx.seccomp = &filter;
  PlannedSandbox out;
  REQUIRE(PlanSandbox(DriverLaunch(), ctx, out).ok());
  const ChildPlan& p = out.plan;
  CHECK(p.exe == "/driver/bin/webhook-driver");
  CHECK(p.working_dir == "/data");
  CHECK(p.new_root == "/state/sandbox/root");
  CHECK(p.init);
  CHECK(p.hostname == "webhook");
  CHECK(p.envp_storage ==
        std::vector<std::string>{"PITSTOP_SOCKET=/run/pitstop/driver.sock",
                                 "PITSTOP_DRIVER_ROOT=/driver",
                                 "PITSTOP_STATE_DIR=/data",
                                 "LD_LIBRARY_PATH=/driver/lib", "HOME=/data",
                                 "LANG=C.UTF-8", "TMPDIR=/tmp"});
  CHECK((out.clone_flags & CLONE_NEWNET) != 0);
  CHECK(out.report.network == "none");
  CHECK(p.seccomp.len == 3);
  CHECK(p.no_new_privs);
  // The CAR is mounted read-only.
  auto ro = std::find_if(p.ops.begin(), p.ops.end(), [](const auto& op) {
    return op.kind == ChildPlan::Op::kMount &&
           op.b == "/state/sandbox/root/driver" && (op.flags & MS_RDONLY);
  });
  CHECK(ro != p.ops.end());
  CHECK(std::find(out.report.rlimits.begin(), out.report.rlimits.end(),
                  "nofile=64") != out.report.rlimits.end());
  // Without a memory cgroup, the address-space rlimit is the backstop.
  CHECK(std::find_if(out.report.rlimits.begin(), out.report.rlimits.end(),
                     [](const std::string& r) {
                       return absl::StartsWith(r, "as=");
                     }) != out.report.rlimits.end());
}

TEST_CASE("a driver granted outbound network keeps the host's namespace",
          "[sandbox-profile]") {
  const HostSandboxSupport host = Host();
  SandboxContext ctx;
  ctx.host = &host;
  ctx.root_mount = "/state/sandbox/root";
  LaunchSpec spec = DriverLaunch();
  spec.sandbox.host_network = true;
  PlannedSandbox out;
  REQUIRE(PlanSandbox(spec, ctx, out).ok());
  CHECK((out.clone_flags & CLONE_NEWNET) == 0);
  CHECK((out.clone_flags & CLONE_NEWNS) != 0);
  CHECK(out.report.network == "host");
  CHECK(out.report.namespaces ==
        std::vector<std::string>{"mnt", "pid", "ipc", "uts"});
}

TEST_CASE("a strict profile names every protection it cannot apply",
          "[sandbox-profile]") {
  HostSandboxSupport host;
  host.namespaces_why_not = "the probe failed";
  host.seccomp_why_not = "the kernel has no seccomp";
  host.cgroups.why_not = "read-only cgroup file system";
  SandboxContext ctx;
  ctx.mode = SandboxMode::kStrict;
  ctx.host = &host;
  PlannedSandbox out;
  absl::Status s = PlanSandbox(DriverLaunch(), ctx, out);
  REQUIRE(s.code() == absl::StatusCode::kFailedPrecondition);
  for (const char* want :
       {"driver webhook refused", "namespaces and private root",
        "the probe failed", "seccomp: the kernel has no seccomp",
        "read-only cgroup file system", "sandbox: best-effort"}) {
    INFO(want);
    CHECK(absl::StrContains(s.message(), want));
  }
}

}  // namespace
}  // namespace pitstop
