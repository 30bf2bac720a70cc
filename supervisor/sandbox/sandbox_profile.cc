#include "supervisor/sandbox/sandbox_profile.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pitstop {
namespace {

namespace fs = std::filesystem;

// Where the sandbox puts things in a driver's private root.
constexpr char kDriverRoot[] = "/driver";
constexpr char kDataDir[] = "/data";
constexpr char kSocketDir[] = "/run/pitstop";

// Host path prefixes and where they appear inside the private root.
class PathMap {
 public:
  void Add(const std::string& host, const std::string& inside) {
    if (!host.empty()) map_.emplace_back(host, inside);
  }
  std::string Path(const std::string& p) const {
    for (const auto& [host, inside] : map_) {
      if (p == host) return inside;
      if (absl::StartsWith(p, host) && p[host.size()] == '/') {
        return inside + p.substr(host.size());
      }
    }
    return p;
  }
  // "KEY=a:b" with each element mapped.
  std::string Env(const std::string& kv) const {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return kv;
    std::vector<std::string> parts = absl::StrSplit(kv.substr(eq + 1), ':');
    for (std::string& part : parts) part = Path(part);
    return absl::StrCat(kv.substr(0, eq + 1), absl::StrJoin(parts, ":"));
  }

 private:
  std::vector<std::pair<std::string, std::string>> map_;
};

// Makes `dir` and what is under it owned by uid:gid, walking the tree only
// when the top is not already.
void ChownTree(const std::string& dir, uid_t uid, gid_t gid) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return;
  if (st.st_uid == uid && st.st_gid == gid) return;
  ::chown(dir.c_str(), uid, gid);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    ::lchown(it->path().c_str(), uid, gid);
  }
}

// The first directory on the way to one of `paths` (or the path itself)
// that other users may not search; empty when all are open.
std::string FirstClosedDirectory(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    fs::path walk = "/";
    for (const fs::path& part : fs::path(path).relative_path()) {
      walk /= part;
      struct stat st;
      if (::stat(walk.c_str(), &st) != 0) break;  // created later, as needed
      if (S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH) == 0) {
        return absl::StrFormat("%s (mode %04o)", walk.string(),
                               st.st_mode & 07777);
      }
    }
  }
  return "";
}

void AddRootOps(const SandboxSpec& sb, const std::string& R, ChildPlan& plan) {
  using Op = ChildPlan::Op;
  auto op = [&plan](Op::Kind kind, std::string a, std::string b = "",
                    std::string fstype = "", unsigned long flags = 0,
                    std::string data = "") {
    Op o;
    o.kind = kind;
    o.what = absl::StrCat(kind == Op::kMount   ? "mount "
                          : kind == Op::kMkdir ? "mkdir "
                          : kind == Op::kTouch ? "create "
                                               : "symlink ",
                          a, b.empty() ? "" : " on ", b);
    o.a = std::move(a);
    o.b = std::move(b);
    o.fstype = std::move(fstype);
    o.flags = flags;
    o.data = std::move(data);
    plan.ops.push_back(std::move(o));
  };
  const unsigned long kRo =
      MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
  auto bind = [&](const std::string& src, const std::string& dst,
                  unsigned long remount) {
    op(Op::kMount, src, dst, "", MS_BIND | MS_REC);
    op(Op::kMount, "", dst, "", remount);
  };
  op(Op::kMount, "", "/", "", MS_REC | MS_PRIVATE);
  op(Op::kMount, "tmpfs", R, "tmpfs", MS_NOSUID | MS_NODEV,
     "mode=0755,size=1m");
  // The host's system directories, read-only (merged /usr: symlinks).
  for (const char* d :
       {"usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin"}) {
    const std::string host = absl::StrCat("/", d);
    std::error_code ec;
    auto st = fs::symlink_status(host, ec);
    if (ec) continue;
    if (fs::is_symlink(st)) {
      op(Op::kSymlink, fs::read_symlink(host, ec).string(),
         absl::StrCat(R, "/", d));
    } else if (fs::is_directory(st)) {
      op(Op::kMkdir, absl::StrCat(R, "/", d));
      bind(host, absl::StrCat(R, "/", d), kRo);
    }
  }
  // Just what the loader, name resolution and TLS need from /etc.
  op(Op::kMkdir, R + "/etc");
  for (const char* f :
       {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime",
        "nsswitch.conf", "hosts", "resolv.conf", "gai.conf", "services",
        "protocols", "ssl", "ca-certificates", "alternatives"}) {
    const std::string host = absl::StrCat("/etc/", f);
    const std::string inside = absl::StrCat(R, "/etc/", f);
    std::error_code ec;
    auto st = fs::status(host, ec);  // follows symlinks
    if (ec) continue;
    if (fs::is_directory(st)) {
      op(Op::kMkdir, inside);
    } else if (fs::is_regular_file(st)) {
      op(Op::kTouch, inside);
    } else {
      continue;
    }
    bind(host, inside, kRo);
  }
  op(Op::kMkdir, R + kDriverRoot);
  bind(sb.package_dir, R + kDriverRoot, kRo);
  op(Op::kMkdir, R + kDataDir);
  bind(sb.data_dir, R + kDataDir, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV);
  op(Op::kMkdir, R + "/run");
  op(Op::kMkdir, R + kSocketDir);
  bind(sb.socket_dir, R + kSocketDir,
       MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  // The daemon's record of the driver's pid lives in this directory; the
  // driver may not rewrite it (a restarted daemon kills what it names).
  op(Op::kMount, sb.socket_dir + "/pid", R + kSocketDir + "/pid", "", MS_BIND);
  op(Op::kMount, "", R + kSocketDir + "/pid", "", kRo);
  op(Op::kMkdir, R + "/tmp");
  op(Op::kMount, "tmpfs", R + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
     "mode=1777,size=64m");
  op(Op::kMkdir, R + "/dev");
  op(Op::kMount, "tmpfs", R + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
     "mode=0755,size=64k");
  for (const char* d : {"null", "zero", "full", "random", "urandom"}) {
    op(Op::kTouch, absl::StrCat(R, "/dev/", d));
    op(Op::kMount, absl::StrCat("/dev/", d), absl::StrCat(R, "/dev/", d), "",
       MS_BIND);
  }
  op(Op::kSymlink, "/proc/self/fd", R + "/dev/fd");
  op(Op::kSymlink, "/proc/self/fd/0", R + "/dev/stdin");
  op(Op::kSymlink, "/proc/self/fd/1", R + "/dev/stdout");
  op(Op::kSymlink, "/proc/self/fd/2", R + "/dev/stderr");
  op(Op::kMkdir, R + "/dev/shm");
  op(Op::kMount, "tmpfs", R + "/dev/shm", "tmpfs",
     MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=16m");
  op(Op::kMkdir, R + "/proc");
  op(Op::kMount, "proc", R + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

}  // namespace

absl::Status PlanSandbox(const LaunchSpec& spec, const SandboxContext& ctx,
                         PlannedSandbox& out) {
  const SandboxSpec& sb = spec.sandbox;
  ChildPlan& plan = out.plan;
  uint64_t& clone_flags = out.clone_flags;
  SandboxReport& r = out.report;
  r.mode = ctx.mode == SandboxMode::kStrict ? "strict" : "best-effort";
  PathMap paths;
  const std::string R = ctx.root_mount;
  if (ctx.host->namespaces) {
    clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    r.namespaces = {"mnt", "pid", "ipc", "uts"};
    if (!sb.host_network) {
      clone_flags |= CLONE_NEWNET;
      r.namespaces.push_back("net");
    }
    r.network = sb.host_network ? "host" : "none";
    r.private_root = true;
    plan.init = true;
    plan.new_root = R;
    plan.hostname = sb.driver;
    paths.Add(sb.package_dir, kDriverRoot);
    paths.Add(sb.data_dir, kDataDir);
    paths.Add(sb.socket_dir, kSocketDir);
    AddRootOps(sb, ctx.root_mount, plan);
  } else {
    r.network = "host";
    r.gaps.push_back(absl::StrCat("namespaces and private root: ",
                                  ctx.host->namespaces_why_not));
  }
  // Without a private root the driver reaches its files by their host
  // paths: another uid can only if every directory above them lets it.
  const std::string unreachable =
      ctx.host->root && !r.private_root
          ? FirstClosedDirectory(
                {sb.package_dir,
                 // These two become the driver's own.
                 fs::path(sb.data_dir).parent_path().string(),
                 fs::path(sb.socket_dir).parent_path().string()})
          : "";
  if (!unreachable.empty()) {
    // Root without capabilities still owns every root-owned file it can
    // reach (e.g. /proc/sys/kernel/core_pattern, which runs a program as
    // root on the next crash): a driver never runs as uid 0, whatever the
    // mode.
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", sb.driver,
        " refused: without a private root it would have to reach its files "
        "by their host paths, and ",
        unreachable,
        " is closed to other users, so it could only run as uid 0, which "
        "pitstopd never does. Make the directories above the state "
        "directory searchable by others (chmod o+x), or run pitstopd where "
        "mount namespaces are allowed"));
  } else if (ctx.host->root) {
    const uint32_t uid = ctx.uid;
    plan.set_ids = true;
    plan.uid = uid;
    plan.gid = uid;
    plan.cap_last = ctx.cap_last;
    r.uid = r.gid = uid;
    r.capabilities_dropped = true;
    // Shared by every instance of the driver (versions side by side).
    ChownTree(sb.data_dir, uid, uid);
    ::chmod(sb.data_dir.c_str(), 0700);
    ::chown(sb.socket_dir.c_str(), uid, uid);
    ::chmod(sb.socket_dir.c_str(), 0700);
    // Root's, written by the supervisor once the driver runs.
    std::ofstream(fs::path(sb.socket_dir) / "pid").flush();
  } else {
    r.uid = ::getuid();
    r.gid = ::getgid();
    r.capabilities_dropped = ctx.host->capabilities_empty;
    r.gaps.push_back(absl::StrCat(
        "dedicated uid: the daemon is not root; the driver runs as uid ",
        r.uid));
  }
  plan.no_new_privs = true;
  r.no_new_privs = true;
  if (ctx.host->seccomp && ctx.seccomp != nullptr && !ctx.seccomp->empty()) {
    plan.seccomp.len = static_cast<unsigned short>(ctx.seccomp->size());
    // The kernel only reads it.
    plan.seccomp.filter = const_cast<sock_filter*>(ctx.seccomp->data());
    r.seccomp = true;
  } else {
    r.gaps.push_back(absl::StrCat("seccomp: ", ctx.host->seccomp_why_not));
  }
  bool memory_limited = false;
  if (ctx.host->cgroups.version != CgroupVersion::kNone) {
    auto group =
        InstanceCgroup::Create(ctx.host->cgroups, sb.driver,
                               absl::StrCat(::getpid(), "-", sb.instance_id),
                               sb.memory_bytes, sb.pids);
    if (group.ok()) {
      out.cgroup = *std::move(group);
      r.cgroup = out.cgroup.Describe();
      r.memory_limit_bytes = sb.memory_bytes;
      r.pids_limit = sb.pids;
      memory_limited = sb.memory_bytes > 0;
    } else {
      r.gaps.push_back(absl::StrCat("cgroup memory and pids limits: ",
                                    group.status().message()));
    }
  } else {
    r.gaps.push_back(absl::StrCat("cgroup memory and pids limits: ",
                                  ctx.host->cgroups.why_not));
  }
  auto limit = [&](int resource, const char* name, uint64_t value) {
    rlimit l{};
    l.rlim_cur = l.rlim_max = value;
    plan.rlimits.emplace_back(resource, l);
    r.rlimits.push_back(absl::StrCat(name, "=", value));
  };
  if (sb.open_files > 0) limit(RLIMIT_NOFILE, "nofile", sb.open_files);
  limit(RLIMIT_CORE, "core", 0);
  // Counted per uid, across the instances of one driver.
  if (plan.set_ids && sb.pids > 0) {
    limit(RLIMIT_NPROC, "nproc", 2 * sb.pids);
  }
  // Without a cgroup, a backstop against runaway mappings.
  if (!memory_limited && sb.memory_bytes > 0) {
    limit(RLIMIT_AS, "as", sb.memory_bytes + (uint64_t{4} << 30));
  }
  if (ctx.mode == SandboxMode::kStrict && !r.gaps.empty()) {
    // A protection that failed only because the daemon ran out of
    // descriptors (a cgroup file it could not open) is the daemon's
    // trouble for a moment, not the host's for good.
    for (const std::string& gap : r.gaps) {
      if (absl::StrContains(gap, std::strerror(EMFILE)) ||
          absl::StrContains(gap, std::strerror(ENFILE))) {
        return absl::UnavailableError(absl::StrCat(
            "driver ", sb.driver,
            " cannot start now: pitstopd is out of file descriptors (", gap,
            "); raise its nofile limit (LimitNOFILE=) or lower "
            "listener_max_connections"));
      }
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "driver ", sb.driver,
        " refused: the sandbox is strict and these protections cannot be "
        "applied on this host: ",
        absl::StrJoin(r.gaps, "; "),
        ". Run pitstopd as root on a host that allows them, or set "
        "`sandbox: best-effort` in the daemon configuration"));
  }
  plan.exe = paths.Path(spec.executable);
  plan.argv_storage.push_back(plan.exe);
  for (const std::string& a : spec.args)
    plan.argv_storage.push_back(paths.Path(a));
  for (const std::string& kv : spec.env)
    plan.envp_storage.push_back(paths.Env(kv));
  if (r.private_root) plan.envp_storage.push_back("TMPDIR=/tmp");
  plan.working_dir =
      paths.Path(spec.working_dir.empty() ? sb.data_dir : spec.working_dir);
  if (plan.working_dir.empty()) plan.working_dir = "/";
  return absl::OkStatus();
}

}  // namespace pitstop
